"""The set-up wizard's answers, with no window: what each page refuses, and what saving writes."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from kiosk.config import ConfigError, from_text, load
from kiosk.setup import INSTALLER, SetupCode, SetupForm, candidate_files, problems, save
from kiosk.staff import Entry, hash_pin, pin_matches

GOOD = {
    "kiosk_id": "hall-3", "backend_url": "https://ss.example.cn/api/v1", "token": "t0ken-from-ops",
    "admin_pin": "246813", "admin_pin_again": "246813", "clerk_pin": "135792", "clerk_pin_again": "135792",
}  # fmt: skip


def form(**changes: object) -> SetupForm:
    return SetupForm(**{**GOOD, **changes})  # type: ignore[arg-type]


def test_a_complete_form_has_no_problem_on_any_page() -> None:
    for page in ("kiosk", "backend", "staff", "check"):
        assert problems(form(), page) == []


@pytest.mark.parametrize(
    ("page", "changes", "sentence"),
    [
        ("kiosk", {"kiosk_id": ""}, "kiosk id: must be 1–64 letters"),
        ("kiosk", {"kiosk_id": "大厅一号"}, "kiosk id: must be 1–64 letters"),
        ("kiosk", {"kiosk_id": "x" * 65}, "kiosk id: must be 1–64 letters"),
        ("kiosk", {"language": "fr"}, "language"),
        ("backend", {"backend_url": "https://"}, "backend URL: must be the backend's https URL"),
        ("backend", {"backend_url": "ftp://ss.example.cn"}, "backend URL: must be the backend's https URL"),
        ("backend", {"backend_url": "http://ss.example.cn/api/v1"}, "backend URL: must use https"),
        ("backend", {"token": "  "}, "token: is missing"),
        ("backend", {"token": "two\nlines"}, "token: is missing"),
        ("backend", {"ca_file": "/nowhere/ca.pem"}, "CA bundle: /nowhere/ca.pem is not a file"),
        ("backend", {"client_cert": "/etc/hostname"}, "client certificate and key go together"),
        ("staff", {"admin_pin": "12345", "admin_pin_again": "12345"}, "admin PIN: must be 6 to 12 digits"),
        ("staff", {"admin_pin": "12345a", "admin_pin_again": "12345a"}, "admin PIN: must be 6 to 12 digits"),
        ("staff", {"admin_pin_again": "246814"}, "admin PIN: the two entries differ"),
        ("staff", {"clerk_pin": "246813", "clerk_pin_again": "246813"}, "clerk PIN: must differ from the admin PIN"),
        ("staff", {"clerk_pin": ""}, "clerk PIN: must be 6 to 12 digits"),
        ("kiosk", {"printer_kind": "escpos-network"}, "printer address, device or CUPS queue: 选了打印机就要填对"),
        ("kiosk", {"printer_kind": "escpos-network", "printer_device": "192.168.1.50:91OO"}, "a port from 1 to 65535"),
        ("kiosk", {"printer_kind": "escpos-network", "printer_device": "192.168.1.50:99999"}, "a port from 1"),
        ("kiosk", {"printer_kind": "laser"}, "printer: must be one of"),
        ("kiosk", {"paper_mm": 112}, "paper width: must be one of"),
    ],
)
def test_each_wrong_answer_gets_one_sentence_naming_the_field(page: str, changes: dict, sentence: str) -> None:
    found = problems(form(**changes), page)
    assert len(found) == 1 and sentence in found[0], found


def test_a_ca_file_that_is_no_certificate_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "ca.pem"
    junk.write_text("not a certificate")
    assert problems(form(ca_file=str(junk)), "backend") == [f"根证书 · CA bundle: {junk} holds no PEM certificate"]


def test_staff_who_change_the_set_up_may_keep_the_pins(tmp_path: Path) -> None:
    existing = from_text(f'[backend]\nurl = "https://a.example"\n[staff]\nadmin_pin_hash = "{hash_pin("246813")}"\n')
    empty = form(admin_pin="", admin_pin_again="")
    assert problems(empty, "staff", existing) == []
    assert problems(empty, "staff") == ["管理员密码 · admin PIN: must be 6 to 12 digits"]  # a new kiosk needs one


def test_a_new_pin_may_not_be_the_pin_the_other_role_keeps() -> None:
    existing = from_text(f'[backend]\nurl = "https://a.example"\n[staff]\nadmin_pin_hash = "{hash_pin("246813")}"\n'
                         f'clerk_pin_hash = "{hash_pin("135792")}"\n')  # fmt: skip
    clerk_as_admin = form(admin_pin="", admin_pin_again="", clerk_pin="246813", clerk_pin_again="246813")
    assert problems(clerk_as_admin, "staff", existing) == ["业务员密码 · clerk PIN: must differ from the admin PIN"]
    admin_as_clerk = form(admin_pin="135792", admin_pin_again="135792", clerk_pin="", clerk_pin_again="")
    assert problems(admin_as_clerk, "staff", existing) == ["管理员密码 · admin PIN: must differ from the clerk PIN"]


def test_saving_writes_a_config_the_kiosk_loads_and_a_private_token_file(tmp_path: Path) -> None:
    path = tmp_path / "etc" / "config.toml"
    config = save(form(orientation="portrait", require_pin=False, language="en"), path)
    assert config == load(path)
    assert (config["kiosk.id"], config["ui.orientation"], config["kiosk.language"]) == ("hall-3", "portrait", "en")
    assert config["session.require_pin"] is False
    assert config.token() == "t0ken-from-ops"
    assert stat.S_IMODE(os.stat(config.file("backend.token_file")).st_mode) == 0o600
    assert pin_matches("246813", config["staff.admin_pin_hash"])
    assert pin_matches("135792", config["staff.clerk_pin_hash"])
    assert "246813" not in path.read_text() and "t0ken" not in path.read_text()  # hashes and a file name only


def test_the_hall_and_its_printer_are_saved_and_offered_again_for_a_change(tmp_path: Path) -> None:
    printing = {"hall_name": "朝阳区社会保障服务大厅", "hall_address": "朝阳路12号一层", "hall_counter": "3号综合窗口",
                "printer_kind": "cups", "printer_device": "hall-a4", "paper_mm": 58}  # fmt: skip
    config = save(form(**printing), tmp_path / "config.toml")
    assert (config["hall.name"], config["hall.counter"], config["printer.kind"], config["printer.device"],
            config["printer.paper_mm"]) == ("朝阳区社会保障服务大厅", "3号综合窗口", "cups", "hall-a4", 58)  # fmt: skip
    again = SetupForm.from_config(config)
    assert {name: getattr(again, name) for name in printing} == printing


def test_saving_over_a_config_keeps_what_the_wizard_does_not_ask(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    admin = hash_pin("246813")
    path.write_text(f'[kiosk]\ndata_dir = "/var/lib/ss-kiosk"\n[backend]\nurl = "https://a.example"\n'
                    f'[voice]\nvolume = 0.4\n[staff]\nadmin_pin_hash = "{admin}"\n')  # fmt: skip
    config = save(form(admin_pin="", admin_pin_again=""), path, load(path))
    assert (config["kiosk.data_dir"], config["voice.volume"]) == ("/var/lib/ss-kiosk", 0.4)
    assert config["staff.admin_pin_hash"] == admin and config["backend.url"] == GOOD["backend_url"]


def test_a_save_that_fails_half_way_leaves_the_old_config_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[backend]\nurl = "https://a.example"\n')
    (tmp_path / "token").mkdir()  # the token cannot be written (a folder is in the way; root or not)
    with pytest.raises(OSError):
        save(form(), path, load(path))
    assert path.read_text() == '[backend]\nurl = "https://a.example"\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml", "token"]  # no temp file left behind


def test_certificates_on_a_usb_stick_are_offered_to_pick(tmp_path: Path) -> None:
    stick = tmp_path / "media" / "ENGINEER" / "hall-3"
    stick.mkdir(parents=True)
    for name in ("ca.pem", "kiosk.crt", "kiosk.key", "notes.txt"):
        (stick / name).write_text("x")
    assert [p.name for p in candidate_files((".pem", ".crt"), [tmp_path / "media"])] == ["ca.pem", "kiosk.crt"]


def test_file_names_with_control_characters_are_written_as_valid_toml(tmp_path: Path) -> None:
    stick = tmp_path / "stick"
    stick.mkdir()
    cert, key = stick / "kiosk\n.crt", stick / "kiosk\x1b\x7f.key"  # a stick's file names are anyone's
    cert.write_text("x")
    key.write_text("x")
    changes = {"client_cert": str(cert), "client_key": str(key), "location": 'Hall "A"\t\\ 2'}
    assert problems(form(**changes), "backend") == []
    config = save(form(**changes), tmp_path / "config.toml")
    assert (config["backend.client_cert"], config["backend.client_key"]) == (str(cert), str(key))
    assert config["kiosk.location"] == 'Hall "A"\t\\ 2'
    gbk = stick / os.fsdecode("证书.crt".encode("gbk"))  # not UTF-8: refused on its page, not a crash on saving
    gbk.write_text("x")
    assert "rename the file" in problems(form(client_cert=str(gbk), client_key=str(key)), "backend")[0]


def test_a_url_with_a_capital_http_is_refused_on_its_page_and_never_written(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[backend]\nurl = "https://a.example"\n')
    existing = load(path)
    answers = form(backend_url="HTTP://ss.example.cn/api/v1")
    assert problems(answers, "backend", existing) == ["后台地址 · backend URL: must use https"]
    with pytest.raises(ConfigError):
        save(answers, path, existing)  # what the config would refuse is never written over a working one
    assert path.read_text() == '[backend]\nurl = "https://a.example"\n' and load(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]  # nor a token


def test_the_data_dir_the_wizard_ran_with_is_written_down(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Under systemd XDG_DATA_HOME=/var/lib; `ss-kiosk doctor` or `sync --once` from root's shell must find the
    same outbox and cache, not make a second set in /root/.local/share."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "var-lib"))
    config = save(form(), tmp_path / "config.toml")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "root-home"))
    assert load(tmp_path / "config.toml").data_dir == config.data_dir == tmp_path / "var-lib" / "ss-kiosk"


def test_a_file_named_relative_to_the_config_folder_is_found_there(tmp_path: Path) -> None:
    """The config names files relative to its own folder (Config.file); the wizard checks them there too."""
    (tmp_path / "client.crt").write_text("x")
    (tmp_path / "client.key").write_text("x")
    path = tmp_path / "config.toml"
    path.write_text('[backend]\nurl = "https://a.example"\nclient_cert = "client.crt"\nclient_key = "client.key"\n')
    existing = load(path)
    assert existing.file("backend.client_cert") == tmp_path / "client.crt"
    assert problems(SetupForm.from_config(existing), "backend", existing) == [
        "令牌 · token: is missing (one line, from the backend's operators)"
    ]


def test_the_setup_code_opens_once_and_five_wrong_codes_lock_it(tmp_path: Path) -> None:
    code = SetupCode(tmp_path / "etc" / "config.toml", tmp_path / "data")
    assert not code.required()  # no file (a developer's new config): nothing asked
    (tmp_path / "etc").mkdir()
    code.file.write_text("40817263\n")
    assert code.required()
    assert isinstance(code.enter(""), str) and isinstance(code.enter(" "), str)  # slips: no try spent
    wrong = code.enter("12345678")
    assert (
        isinstance(wrong, Entry)
        and wrong.role is None
        and wrong.refusal("安装码", "setup code").endswith("wrong setup code, 4 tries left")
    )
    assert code.enter("40817263").role == INSTALLER  # type: ignore[union-attr]
    for _ in range(5):
        refused = code.enter("00000000")
    assert isinstance(refused, Entry) and refused.locked_for_s > 0
    assert code.enter("40817263").role is None  # the right code waits out the lock too
    audit = (tmp_path / "data" / "audit.log").read_text(encoding="utf-8")
    assert "40817263" not in audit and "locked" in audit
    code.used()
    assert not code.required()


@pytest.mark.parametrize("content", [b"", b"abc\n", b"\xff\xfe"])
def test_a_broken_setup_code_file_is_named_not_a_crash(tmp_path: Path, content: bytes) -> None:
    code = SetupCode(tmp_path / "config.toml", tmp_path / "data")
    code.file.write_bytes(content)
    answer = code.enter("12345678")
    assert isinstance(answer, str) and str(code.file) in answer and "install again" in answer


def test_a_deployed_kiosk_without_its_setup_code_file_stays_shut(tmp_path: Path) -> None:
    """Started by its systemd unit after the config went: no file is no way in, until install runs again."""
    code = SetupCode(tmp_path / "config.toml", tmp_path / "data", deployed=True)
    assert code.required()
    answer = code.enter("40817263")
    assert isinstance(answer, str) and "install again" in answer
