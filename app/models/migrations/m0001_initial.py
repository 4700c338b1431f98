"""The first schema: places, households and persons, visits, employment, training, intentions,
mediation, users, settings; plus the local change log, audit log and write context."""

from __future__ import annotations

from app.models.core import sqlite as sqlite3

# Foreign keys are DEFERRABLE INITIALLY DEFERRED so that a sync import may apply ops in any
# order inside its one transaction (a person may arrive before its household).
FK = "DEFERRABLE INITIALLY DEFERRED"

SQL = f"""
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);

CREATE TABLE write_ctx (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    site_id TEXT NOT NULL, hlc TEXT NOT NULL, user TEXT, mode TEXT NOT NULL DEFAULT 'local'
);

CREATE TABLE change_log (
    op_id INTEGER PRIMARY KEY AUTOINCREMENT,
    site_id TEXT NOT NULL,
    seq INTEGER,
    tbl TEXT NOT NULL,
    row_id TEXT NOT NULL,
    col TEXT NOT NULL,
    value TEXT,
    hlc TEXT NOT NULL,
    user TEXT
);
CREATE UNIQUE INDEX change_log_site_seq ON change_log(site_id, seq);
CREATE INDEX change_log_row ON change_log(tbl, row_id);
CREATE TRIGGER change_log_local_seq AFTER INSERT ON change_log WHEN NEW.seq IS NULL
BEGIN UPDATE change_log SET seq = NEW.op_id WHERE op_id = NEW.op_id; END;

CREATE TABLE sync_state (site_id TEXT PRIMARY KEY, max_seq INTEGER NOT NULL DEFAULT 0);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL, user TEXT, site_id TEXT, action TEXT NOT NULL,
    tbl TEXT NOT NULL, row_id TEXT NOT NULL, summary TEXT, detail TEXT
);
CREATE INDEX audit_log_row ON audit_log(tbl, row_id);

CREATE TABLE setting (id TEXT PRIMARY KEY, value TEXT, deleted INTEGER NOT NULL DEFAULT 0);

CREATE TABLE app_user (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL DEFAULT 'clerk', phone TEXT,
    person_id TEXT, active INTEGER NOT NULL DEFAULT 1, deleted INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE community (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, street TEXT, county TEXT, address TEXT, phone TEXT,
    deleted INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE district (
    id TEXT PRIMARY KEY, community_id TEXT NOT NULL REFERENCES community(id) {FK},
    name TEXT NOT NULL, sort_order INTEGER NOT NULL DEFAULT 0, retired INTEGER NOT NULL DEFAULT 0,
    deleted INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE grid (
    id TEXT PRIMARY KEY, community_id TEXT NOT NULL REFERENCES community(id) {FK},
    district_id TEXT REFERENCES district(id) {FK},
    name TEXT NOT NULL, sort_order INTEGER NOT NULL DEFAULT 0, retired INTEGER NOT NULL DEFAULT 0,
    deleted INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE building (
    id TEXT PRIMARY KEY, community_id TEXT NOT NULL REFERENCES community(id) {FK},
    grid_id TEXT REFERENCES grid(id) {FK},
    name TEXT NOT NULL, number INTEGER, sign TEXT, floors INTEGER,
    retired INTEGER NOT NULL DEFAULT 0, notes TEXT, deleted INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX building_community ON building(community_id);
CREATE INDEX building_grid ON building(grid_id);
CREATE TABLE unit (
    id TEXT PRIMARY KEY, building_id TEXT NOT NULL REFERENCES building(id) {FK},
    number INTEGER NOT NULL, name TEXT, sign TEXT,
    retired INTEGER NOT NULL DEFAULT 0, deleted INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX unit_building ON unit(building_id);
CREATE TABLE room (
    id TEXT PRIMARY KEY, unit_id TEXT NOT NULL REFERENCES unit(id) {FK},
    number TEXT NOT NULL, floor INTEGER, area_m2 REAL,
    retired INTEGER NOT NULL DEFAULT 0, deleted INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX room_unit ON room(unit_id, number);

-- Who looks after a place: grid workers, building heads (楼栋长), unit heads (单元长).
CREATE TABLE place_role (
    id TEXT PRIMARY KEY, place_table TEXT NOT NULL CHECK (place_table IN ('grid','building','unit')),
    place_id TEXT NOT NULL, role TEXT NOT NULL,
    person_id TEXT REFERENCES person(id) {FK}, staff_name TEXT, phone TEXT,
    start_date TEXT, end_date TEXT, deleted INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX place_role_place ON place_role(place_table, place_id);
CREATE INDEX place_role_person ON place_role(person_id);

CREATE TABLE household (
    id TEXT PRIMARY KEY,
    number TEXT NOT NULL,
    room_id TEXT REFERENCES room(id) {FK},
    head_person_id TEXT REFERENCES person(id) {FK},
    origin_township TEXT, origin_village TEXT, move_in_date TEXT,
    risk_colour TEXT NOT NULL DEFAULT 'green' CHECK (risk_colour IN ('red','yellow','green')),
    tag_lifted INTEGER NOT NULL DEFAULT 0,      -- 脱贫户
    tag_monitored INTEGER NOT NULL DEFAULT 0,   -- 监测户
    tag_dibao INTEGER NOT NULL DEFAULT 0,       -- 低保
    tag_tekun INTEGER NOT NULL DEFAULT 0,       -- 特困
    hukou_moved INTEGER NOT NULL DEFAULT 0,
    residence_permit TEXT,                      -- 居住证: 未办 / 办理中 / 已办
    property_cert TEXT,                         -- 产权证: 未办 / 办理中 / 已办
    garden_plot_m2 REAL,                        -- 微菜园
    status TEXT NOT NULL DEFAULT '在住',
    notes TEXT,
    deleted INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX household_room ON household(room_id);
CREATE INDEX household_number ON household(number);
CREATE INDEX household_head ON household(head_person_id);

CREATE TABLE household_address (
    id TEXT PRIMARY KEY, household_id TEXT NOT NULL REFERENCES household(id) {FK},
    room_id TEXT REFERENCES room(id) {FK}, address_text TEXT,
    from_date TEXT, to_date TEXT, deleted INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX household_address_household ON household_address(household_id);

CREATE TABLE person (
    id TEXT PRIMARY KEY,
    household_id TEXT REFERENCES household(id) {FK},
    id_number TEXT,                 -- GB 11643, unique when present (checked at entry, not here:
                                    -- the same person registered on two PCs must still sync)
    name TEXT NOT NULL,
    name_pinyin TEXT, name_initials TEXT,
    sex TEXT CHECK (sex IN ('男','女') OR sex IS NULL),
    birth_date TEXT,
    ethnicity TEXT,
    relation TEXT,                  -- 与户主关系
    phone TEXT,
    education TEXT,
    labour_ability TEXT CHECK (labour_ability IN ('全','半','无') OR labour_ability IS NULL),
    sg_left_behind_child INTEGER NOT NULL DEFAULT 0,
    sg_elderly_alone INTEGER NOT NULL DEFAULT 0,
    sg_disabled INTEGER NOT NULL DEFAULT 0,
    sg_incapacitated INTEGER NOT NULL DEFAULT 0,
    sg_hospitalised INTEGER NOT NULL DEFAULT 0,
    party_member INTEGER NOT NULL DEFAULT 0,
    student INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT '在册',  -- 在册 / 迁出 / 死亡
    status_date TEXT,
    notes TEXT,
    deleted INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX person_household ON person(household_id);
CREATE INDEX person_id_number ON person(id_number);
CREATE INDEX person_name ON person(name);
CREATE INDEX person_initials ON person(name_initials);
CREATE INDEX person_phone ON person(phone);

-- 每月收支核查
CREATE TABLE income_check (
    id TEXT PRIMARY KEY, household_id TEXT NOT NULL REFERENCES household(id) {FK},
    month TEXT NOT NULL, income_fen INTEGER, expense_fen INTEGER, notes TEXT,
    deleted INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX income_check_household ON income_check(household_id, month);

CREATE TABLE risk_change (
    id TEXT PRIMARY KEY, household_id TEXT NOT NULL REFERENCES household(id) {FK},
    old_colour TEXT, new_colour TEXT NOT NULL, reason TEXT NOT NULL, changed_by TEXT, changed_at TEXT NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX risk_change_household ON risk_change(household_id);

CREATE TABLE visit (
    id TEXT PRIMARY KEY, household_id TEXT NOT NULL REFERENCES household(id) {FK},
    visit_date TEXT NOT NULL,
    kind TEXT NOT NULL,             -- 日访 周访 月访 三必到 四必访 其他
    visitor_name TEXT, visitor_person_id TEXT REFERENCES person(id) {FK},
    findings TEXT, finding_flags TEXT, problems TEXT,
    follow_up_needed INTEGER NOT NULL DEFAULT 0, follow_up_note TEXT,
    mediation_case_id TEXT REFERENCES mediation_case(id) {FK},
    created_at TEXT,
    deleted INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX visit_household_date ON visit(household_id, visit_date);
CREATE INDEX visit_date ON visit(visit_date);

CREATE TABLE employment (
    id TEXT PRIMARY KEY, person_id TEXT NOT NULL REFERENCES person(id) {FK},
    kind TEXT NOT NULL,             -- 外出务工 就近就业 公益性岗位 灵活就业 自主创业
    sub_kind TEXT,                  -- 工业园区 帮扶车间 零工市场 …
    organised INTEGER, in_province INTEGER, destination TEXT,
    employer TEXT, place TEXT, post_name TEXT, funding_source TEXT, business_type TEXT,
    subsidy_fen INTEGER,
    start_date TEXT, end_date TEXT,
    monthly_income_fen INTEGER,
    notes TEXT,
    deleted INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX employment_person ON employment(person_id);

CREATE TABLE training_course (
    id TEXT PRIMARY KEY, name TEXT NOT NULL,
    kind TEXT NOT NULL,             -- 岗前 技能提升 创业
    provider TEXT, start_date TEXT, end_date TEXT, hours REAL,
    with_certificate INTEGER NOT NULL DEFAULT 0, certificate_name TEXT, notes TEXT,
    deleted INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE training_attendance (
    id TEXT PRIMARY KEY,
    course_id TEXT NOT NULL REFERENCES training_course(id) {FK},
    person_id TEXT NOT NULL REFERENCES person(id) {FK},
    certificate_obtained INTEGER NOT NULL DEFAULT 0, notes TEXT,
    deleted INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX training_attendance_course ON training_attendance(course_id);
CREATE INDEX training_attendance_person ON training_attendance(person_id);

CREATE TABLE intention (
    id TEXT PRIMARY KEY, person_id TEXT NOT NULL REFERENCES person(id) {FK},
    kind TEXT NOT NULL,             -- 就业 培训 创业
    job_kind TEXT, place TEXT, training_wanted TEXT, detail TEXT,
    recorded_date TEXT NOT NULL, closed_date TEXT,
    met_employment_id TEXT REFERENCES employment(id) {FK},
    met_attendance_id TEXT REFERENCES training_attendance(id) {FK},
    notes TEXT,
    deleted INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX intention_person ON intention(person_id);

CREATE TABLE mediation_case (
    id TEXT PRIMARY KEY,
    number TEXT NOT NULL,           -- per office and year, e.g. 2026-0042
    received_date TEXT NOT NULL,
    source TEXT,                    -- 走访发现 来访 网格上报 热线 其他
    category TEXT,                  -- 邻里 家庭/婚姻 物业费 劳资/欠薪 土地/山林 其他
    title TEXT NOT NULL, description TEXT,
    building_id TEXT REFERENCES building(id) {FK},
    level TEXT NOT NULL DEFAULT '楼栋' CHECK (level IN ('楼栋','社区','街道')),
    level_since TEXT,
    mediators TEXT,
    status TEXT NOT NULL DEFAULT '受理',
    referred_to TEXT,
    agreement_text TEXT, agreement_date TEXT,
    visit_id TEXT REFERENCES visit(id) {FK},
    closed_date TEXT,
    deleted INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX mediation_case_status ON mediation_case(status);
CREATE INDEX mediation_case_received ON mediation_case(received_date);
CREATE INDEX mediation_case_number ON mediation_case(number);

CREATE TABLE mediation_party (
    id TEXT PRIMARY KEY, case_id TEXT NOT NULL REFERENCES mediation_case(id) {FK},
    person_id TEXT REFERENCES person(id) {FK},
    outsider_name TEXT, outsider_phone TEXT, role TEXT,
    deleted INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX mediation_party_case ON mediation_party(case_id);
CREATE INDEX mediation_party_person ON mediation_party(person_id);

CREATE TABLE mediation_event (
    id TEXT PRIMARY KEY, case_id TEXT NOT NULL REFERENCES mediation_case(id) {FK},
    at TEXT NOT NULL, by_user TEXT,
    kind TEXT NOT NULL,             -- status / level / note
    from_value TEXT, to_value TEXT, note TEXT,
    deleted INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX mediation_event_case ON mediation_event(case_id);

CREATE TABLE mediation_followup (
    id TEXT PRIMARY KEY, case_id TEXT NOT NULL REFERENCES mediation_case(id) {FK},
    followup_date TEXT NOT NULL, visitor TEXT,
    outcome TEXT,                   -- 满意 基本满意 不满意
    notes TEXT, next_date TEXT,
    deleted INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX mediation_followup_case ON mediation_followup(case_id);
"""


def run_script(conn: sqlite3.Connection, sql: str) -> None:
    """Run `;`-separated statements inside the caller's transaction (executescript would commit)."""
    buf: list[str] = []
    for line in sql.splitlines():
        if line.strip().startswith("--") and not buf:
            continue
        buf.append(line)
        stmt = "\n".join(buf)
        if sqlite3.complete_statement(stmt):
            if stmt.strip():
                conn.execute(stmt)
            buf = []
    rest = "\n".join(buf).strip()
    if rest:
        conn.execute(rest)


def up(conn: sqlite3.Connection) -> None:
    run_script(conn, SQL)
