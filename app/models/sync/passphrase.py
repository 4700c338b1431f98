"""How strong the office's sync passphrase must be before a bundle is written with it.

The passphrase is the only key of every bundle left on a USB stick: whoever finds a lost stick
can try passphrases offline as fast as scrypt allows, so it must not be guessable. The rule,
checked when a bundle is written (the sync dialog checks it as soon as it is typed; the command
line when it reads the passphrase file) and never when reading (old bundles must stay readable):

- **Length**: at least 10 "points", one per letter, digit or sign and **two per Chinese
  character**. A character drawn from the few thousand in common use carries about 11 bits,
  a lower-case letter under 5: two points per character is still an under-count, and it lets a
  clerk type a short Chinese phrase (五个汉字) instead of a long string of Latin letters.
- **Not one kind of character**: not digits only (a phone number, a birthday, a year), not
  fewer than 4 different characters, not a keyboard or counting run (abcdef…, 123456…, qwerty…).
- **Not a common word or password**: with digits, spaces and signs taken out, what is left must
  not be made only of the common passwords and words of :data:`COMMON_WORDS` (password, admin,
  woaini, 密码, 社区, 同步, 口令 …: 社区同步口令2026 is refused).
- **Not the community's name**: the community's or the office's name, in Chinese or pinyin,
  taken out of the passphrase must leave a passphrase that passes on its own.

The passphrase is never stored: it lives in the dialog's field (or the file the command line is
given) for one sync, and only a key derived from it with the bundle's salt touches a bundle.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from app.models.core.errors import ValidationError
from app.models.core.pinyin import name_pinyin

MIN_POINTS = 10

# Common passwords (the top of the public leak lists, Chinese users' favourites) and the words an
# office would reach for first. Compared after lower-casing and removing digits and signs.
COMMON_WORDS = frozenset("""
password passwd pass word admin administrator root user guest login welcome hello test demo
qwerty qwertyuiop asdf asdfgh asdfghjkl zxcv zxcvbnm abc abcd abcdef iloveyou love monkey dragon
master shadow sunshine princess football baseball letmein trustno secret superman batman
woaini aini wohenaini woaini1314 zhongguo china beijing shanghai guizhou yunnan sichuan anju
shequ tongbu kouling mima mimamima gongzuo bangong zhengfu banshichu fuwu fuwuzhongxin zhongxin
jiedao juweihui cunweihui yidi banqian fupin tuopin anzhi xinjia xinju hongri taiyang
密码 口令 同步 同步口令 社区 社区同步 居委会 村委会 服务 服务中心 中心 办公室 办公 工作 政府 街道
安居 安居台账 台账 易地 搬迁 扶贫 脱贫 安置 新家 新居 我爱你 中国 你好 欢迎 管理员 管理 用户 测试
""".split())

_SEQUENCES = ("abcdefghijklmnopqrstuvwxyz", "qwertyuiopasdfghjklzxcvbnm", "01234567890", "1qaz2wsx3edc")
_SIGNS = re.compile(r"[\W_\d]+", re.UNICODE)
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")

ADVICE = ("请换一个只有本社区各台电脑的管理人员知道的口令：至少 10 个字母或数字（一个汉字算 2 个），"
          "可以用几个互不相关的词和数字连在一起；不要用社区名称、常用词或纯数字。")


def points(text: str) -> int:
    """Length as the rule counts it: 2 per Chinese character, 1 per other character (spaces not counted)."""
    return sum(2 if _CJK.match(c) else 1 for c in text if not c.isspace())


def _core(text: str) -> str:
    return _SIGNS.sub("", text).casefold()


def _only_common_words(core: str) -> bool:
    """Whether `core` is nothing but common words strung together (社区+同步+口令, anju+password)."""
    if not core:
        return False
    reachable = [True] + [False] * len(core)
    for end in range(1, len(core) + 1):
        reachable[end] = any(reachable[start] and core[start:end] in COMMON_WORDS for start in range(end))
    return reachable[-1]


def _is_run(text: str) -> bool:
    plain = text.casefold()
    return len(plain) >= 4 and any(plain in seq or plain in seq[::-1] for seq in _SEQUENCES)


def problem(passphrase: str, names: Iterable[str] = ()) -> str | None:
    """Why `passphrase` is too weak to write a bundle with (a Chinese sentence), or None when it will do.

    `names`: the community's and the office's names (their pinyin is checked too).
    """
    phrase = passphrase.strip()
    if not phrase:
        return "请填写同步口令。"
    have = points(phrase)
    if have < MIN_POINTS:
        return f"同步口令太短：只相当于 {have} 个字符，至少要 {MIN_POINTS} 个（一个汉字算 2 个）。"
    compact = re.sub(r"\s+", "", phrase)
    if compact.isdigit():
        return "同步口令只有数字（像电话号码、日期或年份，很容易被猜中）。"
    letters = _core(phrase)
    if len(set(compact.casefold())) < 4 or re.fullmatch(r"(.{1,3})\1{2,}.{0,2}", letters):
        return "同步口令只由很少几个字符重复组成。"
    if _is_run(compact) or _is_run(_SIGNS.sub("", compact)):
        return "同步口令是键盘上或按顺序连着的一串字符。"
    if _only_common_words(_core(phrase)):
        return "同步口令只是常见的词或常用密码（去掉数字和符号后）。"
    joined = re.sub(r"[\W_]+", "", phrase).casefold()  # honglu-xinju → hongluxinju
    rest = joined
    for name in _name_forms(names):
        rest = rest.replace(name, "")
    if rest != joined and (points(rest) < MIN_POINTS or problem(rest) is not None):
        return "同步口令主要是社区或单位的名称（或其拼音），别人一猜就中。"
    return None


def _name_forms(names: Iterable[str]) -> list[str]:
    forms: set[str] = set()
    for name in names:
        name = (name or "").strip()
        if not name:
            continue
        for piece in {name, re.sub(r"(社区|服务中心|居委会|小区|街道|办事处)$", "", name)}:
            if len(piece) >= 2:
                forms.add(piece.casefold())
                full, initials = name_pinyin(piece)
                forms.update(f for f in (full, initials if len(initials) >= 3 else "") if f)
    return sorted(forms, key=len, reverse=True)  # the longest first: 红路馨居社区 before 红路馨居


def check(passphrase: str, names: Iterable[str] = ()) -> None:
    """Raise ValidationError (field ``passphrase``) with what is wrong and what to do."""
    why = problem(passphrase, names)
    if why is not None:
        raise ValidationError(f"{why}{ADVICE}", field="passphrase")
