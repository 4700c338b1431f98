"""Who looks after which kind of place (网格员, 楼栋长, 单元长), and the SQL that reads a current role.

Plain words and SQL, no database access: the places module that writes roles and the visit rhythm
that lists building heads both read them.
"""

from __future__ import annotations

ROLE_FOR_PLACE = {"grid": "grid_worker", "building": "building_head", "unit": "unit_head"}
ROLE_NAMES = {"grid_worker": "网格员", "building_head": "楼栋长", "unit_head": "单元长"}
# Older data (and the demo generator) store the Chinese word as the role; both are read alike.
ROLE_VALUES_SQL = {
    "grid": "('grid_worker', '网格员')",
    "building": "('building_head', '楼栋长')",
    "unit": "('unit_head', '单元长')",
}
# A role (alias pr) is current until its end date has passed.
CURRENT_ROLE_SQL = "(pr.end_date IS NULL OR pr.end_date = '' OR pr.end_date > date('now', 'localtime'))"
