"""Every word the kiosk shows or says, in one place: Simplified Chinese here, English in i18n/ss_kiosk_en.ts.

Keys ending in `.prompt` (and the other spoken keys listed in SPOKEN) are what the voice says;
the rest are screen texts. Plain words, short sentences: many listeners are old and hear badly.
Placeholders in braces are filled by `text()`.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QLocale, QTranslator

if TYPE_CHECKING:  # kiosk.voicepack brings numpy: 68 ms of a cold start before the attract screen
    from kiosk.voicepack import Prompt

CONTEXT = "Kiosk"


def _(source: str) -> str:
    """Marks a source string for Qt's translation tools (like QT_TRANSLATE_NOOP)."""
    return source


TEXTS: dict[str, str] = {
    # attract
    "attract.title": _("请插入社保卡"),
    "attract.hint": _("芯片一端朝下，插入读卡口，插到底"),
    "attract.headlines": _("最新消息"),
    "attract.prompt": _("您好！请把社保卡插入读卡口，插到底。"),
    # reading
    "reading.title": _("正在读卡，请不要拔卡"),
    "reading.prompt": _("正在读卡，请不要拔卡。"),
    # PIN
    "pin.title": _("请输入社保卡密码"),
    "pin.hint": _("6位数字密码，输完自动核对"),
    "pin.tries": _("还可以试{tries}次"),
    "pin.wrong_title": _("密码不对，请重新输入"),
    "pin.last_try_title": _("再输错一次，社保卡将被锁定"),
    "pin.checking_title": _("正在核对密码…"),
    "pin.delete": _("删除"),
    "pin.prompt": _("请输入六位社保卡密码。"),
    "pin.enter_tries": _("请输入社保卡密码，还可以试{tries}次。"),
    "pin.wrong": _("密码不对，还可以试{tries}次。请重新输入。"),
    "pin.last_try": _("密码不对。请注意，再输错一次，社保卡就会被锁定。"),
    "pin.wrong_plain": _("密码不对，请重新输入。"),
    "pin.checking": _("正在核对密码，请稍候。"),
    # PIN blocked
    "pin_blocked.title": _("社保卡密码已锁定"),
    "pin_blocked.body": _("请取回社保卡，带上身份证，到人工窗口解锁。"),
    "pin_blocked.prompt": _("密码已经锁定。请取回社保卡，带上身份证，到人工窗口办理。"),
    # expired card
    "card_expired.title": _("您的社保卡已过期"),
    "card_expired.body": _("有效期到{date}。请带上身份证，到人工窗口免费换卡。"),
    "card_expired.continue": _("查看我的消息"),
    "card_expired.prompt": _("您的社保卡已经过期，请到人工窗口换卡。要看您的消息，请点“查看我的消息”。"),
    # notices
    "notices.greeting_named": _("{surname}{honorific}，您好！"),
    "notices.greeting": _("您好！"),
    "notices.subtitle": _("给您的消息，最要紧的在最上面"),
    "notices.loading": _("正在查询您的个人消息…"),
    "notices.personal_unavailable": _("现在查不到您的个人消息，请到人工窗口咨询。"),
    "notices.more": _("还有{count}条消息"),
    "notices.empty": _("现在没有给您的消息"),
    "notices.finish": _("办完了，退卡"),
    "notices.stale": _("信息更新于{when}"),
    "notices.read_mark": _("✓ 已读"),
    "notices.deadline": _("截止{date}"),
    "honorific.male": _("先生"),
    "honorific.female": _("女士"),
    "honorific.unknown": _(""),
    # detail
    "detail.back": _("返回"),
    "detail.deadline": _("截止日期：{date}"),
    "detail.bring": _("请带上：{things}"),
    "detail.read_aloud": _("朗读"),
    "detail.qr": _("用手机扫一扫，在手机上接着办"),
    "detail.mark_read": _("已读"),
    "detail.mute_category": _("不再接收同类"),
    "detail.remind_later": _("稍后提醒"),
    "detail.read_done": _("好的，已经标为已读。"),
    "detail.mute_category_done": _("好的，这类消息以后不再提醒您。"),
    "detail.remind_later_done": _("好的，以后再提醒您。"),
    "detail.page_up": _("上一页"),
    "detail.page_down": _("下一页"),
    "detail.print": _("打印"),
    "detail.print_busy": _("正在打印…"),
    "detail.print_done": _("打印好了"),
    "notices.print_due": _("打印要办的事（{count}件）"),
    "notices.printed": _("打印好了，请取走小票"),  # tapped again: another copy, for the family
    "detail.printing": _("正在打印，请稍等。"),
    "detail.printed": _("打印好了，请取走小票。"),
    # Instead of 打印 while the printer cannot print, and said when a slip did not come out: one calm sentence.
    "printer.paper_out": _("打印纸用完了，工作人员会来换。"),
    "printer.cover_open": _("打印机的盖子开着，请工作人员帮忙关好。"),
    "printer.cutter_jam": _("打印机卡纸了，请工作人员帮忙。"),
    "printer.offline": _("打印机暂时不能用。"),
    "printer.absent": _("打印机暂时不能用。"),
    # goodbye
    "goodbye.title": _("请取回您的社保卡"),
    "goodbye.rating": _("您对这次服务满意吗？"),
    "goodbye.good": _("满意"),
    "goodbye.ok": _("一般"),
    "goodbye.bad": _("不满意"),
    "goodbye.thanks": _("谢谢您的评价！"),
    "goodbye.prompt": _("请取回您的社保卡。您对这次服务满意吗？"),
    "goodbye.take_card": _("请取回您的社保卡。"),
    # faults
    "no_service.title": _("设备维护中"),
    "no_service.body": _("读卡设备正在维护，请稍候，或到人工窗口办理。"),
    "no_service.prompt": _("读卡设备正在维护，请稍候，或到人工窗口办理。"),
    "no_reader.title": _("读卡器没有连接"),
    "no_reader.body": _("这台机器现在不能读卡，请到人工窗口办理。"),
    "no_reader.prompt": _("这台机器现在不能读卡，请到人工窗口办理。"),
    "card_problem.title": _("这张卡读不出来"),
    "card_problem.title_kiosk_side": _("这台机器出了点问题"),  # the kiosk's fault: the title must not blame the card
    "card_problem.not_social_security_card": _("这不是社保卡。请取出，换社保卡插入。"),
    "card_problem.unreadable": _("这张卡读不出来。请取出再插一次；还不行，请到人工窗口。"),
    "card_problem.removed_during_read": _("卡被拔出来了。请重新插入，插好后不要拔。"),
    "card_problem.card_locked": _("这张社保卡已锁定，请带上身份证到人工窗口办理。"),
    "card_problem.not_genuine": _("这张卡无法识别。请取出卡，到人工窗口办理。"),
    "card_problem.card_key_blocked": _("这张社保卡需要到人工窗口处理一下。请带上身份证。"),
    # Third-generation cards the kiosk cannot authenticate now: the citizen's card is fine, the kiosk is not.
    "card_problem.needs_security_module": _("这台机器暂时读不了新版社保卡。您的卡没有问题，请到人工窗口办理。"),
    "card_problem.psam_absent": _("这台机器暂时读不了新版社保卡。您的卡没有问题，请到人工窗口办理。"),
    "card_problem.psam_wrong_application": _("这台机器暂时读不了新版社保卡。您的卡没有问题，请到人工窗口办理。"),
    "card_problem.psam_locked": _("这台机器暂时读不了新版社保卡。您的卡没有问题，请到人工窗口办理。"),
    "card_problem.psam_refused": _("这台机器暂时读不了新版社保卡。您的卡没有问题，请到人工窗口办理。"),
    "card_problem.psam_key_mismatch": _("这台机器暂时读不了新版社保卡。您的卡没有问题，请到人工窗口办理。"),
    # The kiosk's PSAM used up the card's last try: the kiosk's fault, but the card needs the counter now.
    "card_problem.psam_spent_last_try": _("您的社保卡需要到人工窗口处理一下。请带上身份证。"),
    "card_problem.psam_removed": _("这台机器暂时读不了新版社保卡。您的卡没有问题，请到人工窗口办理。"),
    # A small line under the citizen's words, for the member of staff who comes over (never spoken).
    "staff_note.needs_security_module": _("供工作人员：本机未配置安全模块（PSAM），三代卡需要它"),
    "staff_note.psam_absent": _("供工作人员：安全模块（PSAM）不在卡座里"),
    "staff_note.psam_wrong_application": _("供工作人员：安全模块不是社保 PSAM"),
    "staff_note.psam_locked": _("供工作人员：安全模块（PSAM）已锁定"),
    "staff_note.psam_refused": _("供工作人员：安全模块（PSAM）拒绝计算"),
    "staff_note.psam_key_mismatch": _("供工作人员：卡片不接受本机 PSAM 的密钥，未再重试"),
    "staff_note.psam_spent_last_try": _("供工作人员：本机 PSAM 的密钥不对，用掉了卡片最后一次机会，卡片读取密钥已锁定"),
    "staff_note.psam_removed": _("供工作人员：认证中安全模块（PSAM）被拔出"),
    "staff_note.not_genuine": _("供工作人员：内部认证失败，卡片不是真卡或已损坏"),
    "staff_note.card_key_blocked": _("供工作人员：卡片的读取密钥（RKSSSE）已锁定"),
    # everywhere
    "idle.warning": _("您还在吗？{seconds}秒后将退出。要继续，请点“继续”。"),
    "idle.title": _("您还在吗？"),
    "idle.countdown": _("{seconds}秒后退出"),
    "idle.continue": _("继续"),
    "help.button": _("请工作人员帮忙"),
    "help.requested": _("已经通知工作人员，请稍候。"),
    "help.coming": _("工作人员马上就到，请稍等。"),  # staff pressed 我来处理 on the hall console
    "help.asked_now": _("刚刚已通知"),
    "help.asked_ago": _("{minutes}分钟前已通知"),
    "common.repeat": _("再说一遍"),
    "toggle.large_text": _("大字"),
    "toggle.high_contrast": _("高对比"),
    "toggle.voice": _("语音"),
    "toggle.slower": _("慢速"),
    "toggle.quieter": _("小声"),  # the citizen's volume, a step a tap, back to the hall's after the visit
    "toggle.louder": _("大声"),
    "toggle.language": _("English"),  # the button names the language it switches to
    # 普通话 / 粤语, one toggle when the hall has both ([voice] languages): ✓ marks the voice now, a tap the other
    "voice.zh_CN": _("普通话"),
    "voice.yue": _("粤语"),
    # categories and priorities
    "category.pension_adjustment": _("养老金"),
    "category.certification_due": _("资格认证"),
    "category.contribution_reminder": _("缴费提醒"),
    "category.card_renewal": _("社保卡"),
    "category.reimbursement": _("报销"),
    "category.policy_update": _("政策"),
    "category.case_progress": _("办理进度"),
    "category.hall_announcement": _("大厅公告"),
    "priority.urgent": _("紧急"),
    "priority.high": _("重要"),
    "priority.normal": _(""),
    "priority.low": _(""),
}

# Spoken keys besides `*.prompt`: the voice layer checks it has audio for every one of them.
SPOKEN = {
    key
    for key in TEXTS
    if key.endswith(".prompt")
    or key
    in {
        "pin.enter_tries", "pin.wrong", "pin.wrong_plain", "pin.last_try", "pin.checking",
        "notices.greeting_named", "notices.greeting",
        "notices.personal_unavailable", "detail.read_done", "detail.mute_category_done", "detail.remind_later_done",
        "detail.printing", "detail.printed",
        "goodbye.thanks", "goodbye.take_card", "idle.warning", "help.requested", "help.coming",
    }
    or (key.startswith("card_problem.") and not key.startswith("card_problem.title"))
    or key.startswith("printer.")
}  # fmt: skip

I18N = Path(__file__).resolve().parent / "i18n"


def fixed_prompts(languages: tuple[str, ...] = ("zh_CN", "yue", "en")) -> list[Prompt]:
    """What a voice pack can record: spoken keys without blanks (the same words every time), in the citizen's order."""
    from kiosk.voicepack import Prompt

    return [Prompt(*words) for words in fixed_prompt_words(languages)]


def fixed_prompt_words(languages: tuple[str, ...] = ("zh_CN", "yue", "en")) -> list[tuple[str, str, str]]:
    """The same as (key, language, words), for the voice's process: the window's loads no kiosk.voicepack (numpy)."""
    fixed = [key for key in TEXTS if key in SPOKEN and "{" not in TEXTS[key]]  # TEXTS runs in the order of a visit
    return [(key, language, spoken(key, language)) for language in languages for key in fixed]


def text(key: str, **params: object) -> str:
    """The text for `key` in the current language, blanks filled."""
    source = TEXTS[key]
    translated = QCoreApplication.translate(CONTEXT, source) if source else source
    return translated.format(**params) if params else translated


_SPEECH_TRANSLATORS: dict[str, QTranslator] = {}


def spoken(key: str, language: str, **params: object) -> str:
    """A prompt in `language` for the voice, whatever language the screen has installed right now.

    Callable from any thread: it uses its own translator, not the application's.
    """
    source = TEXTS[key]
    if language == "en" and source:
        translator = _SPEECH_TRANSLATORS.get("en")
        if translator is None:
            compile_translations()
            translator = QTranslator()
            translator.load(QLocale("en"), "ss_kiosk", "_", str(I18N))
            _SPEECH_TRANSLATORS["en"] = translator
        source = translator.translate(CONTEXT, source) or source
    return source.format(**params) if params else source


def show_date(day: date, language: str) -> str:
    if language == "en":
        return f"{day:%B} {day.day}, {day.year}"
    return f"{day.year}年{day.month}月{day.day}日"


def short_date(day: date, language: str) -> str:
    """A date on a notice card: 12月16日 / Dec 16; the year only when the date is not in the months ahead."""
    this_year = 0 <= (day - date.today()).days < 300
    if language == "en":
        return f"{day:%b} {day.day}" + ("" if this_year else f", {day.year}")
    return ("" if this_year else f"{day.year}年") + f"{day.month}月{day.day}日"


class Languages:
    """Installs the English translator when asked; Chinese is the source language."""

    def __init__(self) -> None:
        self.translator = QTranslator()
        self.current = "zh_CN"

    def use(self, language: str) -> None:
        if language == self.current:
            return
        app = QCoreApplication.instance()
        if language == "en":
            compile_translations()
            if not self.translator.load(QLocale("en"), "ss_kiosk", "_", str(I18N)):
                raise RuntimeError(f"the English translation in {I18N} cannot be loaded")
            app.installTranslator(self.translator)
        else:
            app.removeTranslator(self.translator)
        self.current = language


def compile_translations() -> None:
    """Compile the .ts sources to .qm with Qt's lrelease (at build, or on first use)."""
    import subprocess
    import sys

    lrelease = Path(sys.executable).parent / "pyside6-lrelease"
    for ts in I18N.glob("*.ts"):
        qm = ts.with_suffix(".qm")
        if not qm.exists() or qm.stat().st_mtime < ts.stat().st_mtime:
            subprocess.run([str(lrelease), "-silent", str(ts), "-qm", str(qm)], check=True)
