# ruff: noqa: RUF001  (the corpus is multilingual: Cyrillic and typographic dashes are meant)
"""Every message of the corpus (tests/email/corpus) goes through the push URL into acme, in
order, and ends in the outcome written here; then the worker's mail pass acknowledges exactly
the people it should. Hostile messages too large to keep in the repository (a 30 MB attachment,
1,000 nested multiparts) are made here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from frontdesk.core.config import Settings
from tests.email.conftest import CORPUS, DESK, Inbox, pump, push, push_channel
from tests.factories import World

NEW, APPENDED, NOTE = "new_ticket", "appended", "internal_note"
BOUNCE, OWN, UNPARSEABLE = "bounce", "dropped_own_address", "unparseable"
PUSHED_WHEN = "%%OUTBOUND_MESSAGE_ID%%"


@dataclass(frozen=True)
class Expect:
    outcome: str
    auto: bool = False
    review: bool = False
    #: Files stored on the message (None: not checked).
    files: int | None = 0
    #: Text the stored message has, and text it must not have (quotes, scripts, NULs).
    text: str | None = None
    lacks: tuple[str, ...] = ()
    subject: str | None = None
    #: On ticket ACME-1 (the seed's), for replies.
    on_seed: bool = False
    duplicate_of: str | None = None


QUOTE = ("Please unplug it.",)
EXPECTED: dict[str, Expect] = {
    "00_seed.eml": Expect(NEW, text="Our printer on floor 3 is on fire."),
    "01_outlook_plain_new.eml": Expect(NEW, text="disconnects every ten minutes"),
    "02_outlook_html_alternative.eml": Expect(NEW, text="wrong VAT number"),
    "03_outlook_reply_original_message.eml": Expect(
        APPENDED, text="The fire is out now.", lacks=QUOTE, on_seed=True
    ),
    "04_outlook_reply_from_sent_block.eml": Expect(
        APPENDED, text="Smoke is gone too.", lacks=QUOTE, on_seed=True
    ),
    "05_outlook_with_pdf_attachment.eml": Expect(NEW, files=1),
    "06_outlook_inline_image_cid.eml": Expect(NEW, files=1, text="This error shows on start"),
    "07_outlook_calendar_invite.eml": Expect(NEW, files=2, text="set-up on Tuesday"),
    "08_outlook_autoreply_oof.eml": Expect(NEW, auto=True),
    "09_outlook_winmail_dat.eml": Expect(NEW, files=1),
    "10_outlook_cp1252.eml": Expect(NEW, text="40 € “per seat”"),
    "11_gmail_plain_new.eml": Expect(NEW, text="reset link"),
    "12_gmail_alternative.eml": Expect(NEW, text="headers but no rows"),
    "13_gmail_reply_on_wrote.eml": Expect(
        APPENDED, text="Thanks, a technician is coming.", lacks=QUOTE, on_seed=True
    ),
    "14_gmail_reply_wrapped_attribution.eml": Expect(
        APPENDED, text="replaced the fuser", lacks=(*QUOTE, "wrote:"), on_seed=True
    ),
    "15_gmail_forwarded.eml": Expect(NEW, text="Thank you for your order #4411"),
    "16_gmail_attachment_image.eml": Expect(NEW, files=1),
    "17_gmail_multiple_attachments.eml": Expect(NEW, files=3),
    "18_gmail_utf8_emoji_subject.eml": Expect(NEW, subject="Danke für die Hilfe 🎉", text="🙏"),
    "19_gmail_reply_subject_token_only.eml": Expect(APPENDED, on_seed=True),
    "20_gmail_cc_participants.eml": Expect(NEW),
    "21_apple_mail_plain.eml": Expect(NEW, text="after the update", lacks=("Sent from my iPad",)),
    "22_apple_mail_alternative_qp.eml": Expect(NEW, text="almost invisible, please"),
    "23_apple_mail_reply.eml": Expect(
        APPENDED, text="Printing works again.", lacks=QUOTE, on_seed=True
    ),
    "24_apple_mail_attachment_related.eml": Expect(NEW, files=1),
    "25_apple_mail_iso8859_1.eml": Expect(NEW, subject="Problème de connexion", text="à me"),
    "26_thunderbird_signature_dashdash.eml": Expect(
        NEW, text="another year.", lacks=("Assistant Director",)
    ),
    "27_html_only.eml": Expect(NEW, text="button disappeared"),
    "28_html_only_with_script.eml": Expect(NEW, text="Look at this", lacks=("document.cookie",)),
    "29_mis_declared_ascii_utf8.eml": Expect(NEW, text="The café menu"),
    "30_mis_declared_latin1_utf8.eml": Expect(NEW, subject="Grüße", text="Grüße aus Köln"),
    "31_unknown_charset.eml": Expect(NEW, text="Naïve text"),
    "32_koi8r_russian.eml": Expect(NEW, subject="Не работает вход", text="Здравствуйте"),
    "33_shift_jis_japanese.eml": Expect(NEW, subject="ログインできません", text="パスワード"),
    "34_encoded_word_sender_name.eml": Expect(NEW, subject="Invoice – November"),
    "35_no_subject.eml": Expect(NEW, subject="(no subject)"),
    "36_no_message_id.eml": Expect(NEW),
    "37_duplicate_message_id.eml": Expect(NEW, duplicate_of="01_outlook_plain_new.eml"),
    "38_auto_submitted_auto_generated.eml": Expect(NEW, auto=True),
    "39_x_autoreply.eml": Expect(NEW, auto=True),
    "40_x_autorespond.eml": Expect(NEW, auto=True),
    "41_precedence_bulk.eml": Expect(NEW, auto=True),
    "42_precedence_list.eml": Expect(NEW, auto=True),
    "43_precedence_junk.eml": Expect(NEW, auto=True),
    "44_empty_return_path.eml": Expect(NEW, auto=True),
    "45_auto_submitted_no.eml": Expect(NEW),
    "46_bounce_dsn_known.eml": Expect(BOUNCE, auto=True, files=None),
    "47_bounce_postfix_headers_only.eml": Expect(BOUNCE, auto=True, files=None),
    "48_bounce_exchange_ndr.eml": Expect(BOUNCE, auto=True, files=None),
    "49_bounce_mailer_daemon_plain.eml": Expect(BOUNCE, auto=True, files=None),
    "50_own_address_sender.eml": Expect(OWN, files=None),
    "51_own_alias_sender.eml": Expect(OWN, files=None),
    "52_hijack_subject_token.eml": Expect(
        NOTE, review=True, on_seed=True, text="not a participant"
    ),
    "53_hijack_in_reply_to.eml": Expect(NOTE, review=True, on_seed=True, text="invoice copies"),
    "54_header_injection_subject.eml": Expect(NEW, subject="Hello Bcc: victim@example.com body"),
    "55_invalid_base64_attachment.eml": Expect(NEW, files=1),
    "56_invalid_base64_body.eml": Expect(NEW),
    "57_deep_nesting_40.eml": Expect(NEW, text="(no text)"),
    "58_many_parts_300.eml": Expect(NEW, files=100),
    "59_garbage_not_a_mail.eml": Expect(UNPARSEABLE, review=True, files=None),
    "60_headers_missing.eml": Expect(UNPARSEABLE, review=True, files=None),
    "61_no_from.eml": Expect(UNPARSEABLE, review=True, files=None),
    "62_invalid_from.eml": Expect(UNPARSEABLE, review=True, files=None),
    "63_nul_bytes_in_body.eml": Expect(NEW, text="beforeafter"),
    "64_loop_other_desk_ack.eml": Expect(NEW, auto=True),
    "65_forward_as_attachment.eml": Expect(NEW, files=1),
    "66_smime_signed.eml": Expect(NEW, files=1, text="new billing address"),
    "67_long_subject.eml": Expect(NEW),
    "68_qp_soft_breaks.eml": Expect(NEW, text="soft line break in the middle"),
}


def test_the_corpus_is_big_and_every_message_has_an_outcome() -> None:
    files = sorted(path.name for path in CORPUS.glob("*.eml"))
    assert len(files) >= 60
    assert files == sorted(EXPECTED)


class Desk:
    def __init__(self, client: httpx.AsyncClient, world: World) -> None:
        self.client, self.world = client, world
        self.base = f"/api/v1/tenants/{world.a.slug}"
        self.owner = world.a["owner"].auth

    async def get(self, path: str) -> Any:
        response = await self.client.get(self.base + path, headers=self.owner)
        assert response.status_code == 200, response.text
        return response.json()


async def test_every_corpus_message_ends_in_its_outcome(
    client: httpx.AsyncClient,
    world: World,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    inbox: Inbox,
) -> None:
    desk = Desk(client, world)
    _, path = await push_channel(
        client,
        world,
        aliases=["billing@acme.example.com"],
        non_participant_policy="internal_note",
    )
    receipts: dict[str, dict[str, Any]] = {}
    seed_ticket: str | None = None
    failures: list[str] = []
    for name, expect in EXPECTED.items():
        raw = (CORPUS / name).read_bytes()
        if PUSHED_WHEN.encode() in raw:
            raw = raw.replace(PUSHED_WHEN.encode(), (await _an_ack(desk)).encode())
        receipt = receipts[name] = await push(client, path, raw)
        seed_ticket = seed_ticket or receipt["ticket_id"]
        problems = await _check(desk, name, expect, receipt, receipts, seed_ticket)
        failures += [f"{name}: {problem}" for problem in problems]
        if name == "00_seed.eml":
            await pump(settings, sessionmaker)  # the seed's acknowledgement, for the bounce
    assert not failures, "\n".join(failures)

    await pump(settings, sessionmaker)
    acknowledged = {
        mail.recipients[0]
        for mail in inbox.mails
        if mail.message["Auto-Submitted"] and "received" in mail.message["Subject"]
    }
    senders = {name: await _sender(desk, receipts[name]) for name in EXPECTED}
    wanted = {
        senders[name]
        for name, expect in EXPECTED.items()
        if expect.outcome == NEW and not expect.auto and not expect.duplicate_of
    }
    unwanted = {senders[name] for name, expect in EXPECTED.items() if expect.auto or expect.review}
    assert wanted <= acknowledged
    assert not (acknowledged & {a for a in unwanted if a})
    assert not [m for m in inbox.mails if DESK in m.recipients or "eve@" in str(m.recipients)]
    # The cc's of a mail became participants; the desk's own address did not.
    participants = await desk.get(
        f"/tickets/{receipts['20_gmail_cc_participants.eml']['ticket_id']}/participants"
    )
    emails = {p["email"] for p in participants}
    assert {"gibson@school.example.edu", "luis.reyes@gmail.example.com"} <= emails
    assert DESK not in emails
    # The bounce is attached to the acknowledgement that bounced.
    bounce = await desk.get(f"/inbound-mail/{receipts['46_bounce_dsn_known.eml']['id']}")
    bounced = await desk.get(f"/outbound-mail/{bounce['outbound_mail_id']}")
    assert bounced["bounced_at"] is not None
    assert "5.1.1" in bounced["last_error"]


async def _sender(desk: Desk, receipt: dict[str, Any]) -> str | None:
    record = await desk.get(f"/inbound-mail/{receipt['id']}")
    sender: str | None = record["sender"]
    return sender


async def _an_ack(desk: Desk) -> str:
    sent = await desk.get("/outbound-mail?status=sent")
    message_id: str = sent["items"][-1]["message_id"]
    return message_id


async def _check(
    desk: Desk,
    name: str,
    expect: Expect,
    receipt: dict[str, Any],
    receipts: dict[str, dict[str, Any]],
    seed_ticket: str | None,
) -> list[str]:
    record = await desk.get(f"/inbound-mail/{receipt['id']}")
    problems: list[str] = []
    if expect.duplicate_of is not None:
        if not receipt["duplicate"] or receipt["id"] != receipts[expect.duplicate_of]["id"]:
            problems.append(f"not a duplicate of {expect.duplicate_of}: {receipt}")
        return problems
    found = (record["outcome"], record["is_auto_reply"], record["needs_review"])
    if found != (expect.outcome, expect.auto, expect.review):
        problems.append(f"outcome {found} ({record['detail']})")
    if expect.outcome in (BOUNCE, OWN, UNPARSEABLE):
        if record["ticket_message_id"] is not None:
            problems.append("made a message")
        return problems
    ticket_id, message_id = record["ticket_id"], record["ticket_message_id"]
    if expect.on_seed and ticket_id != seed_ticket:
        problems.append(f"not on the seed's ticket: {ticket_id}")
    message = await desk.get(f"/tickets/{ticket_id}/messages/{message_id}")
    problems += _content(expect, message, (await desk.get(f"/tickets/{ticket_id}"))["subject"])
    return problems


def _content(expect: Expect, message: dict[str, Any], subject: str) -> list[str]:
    problems = []
    body = message["body_text"]
    if expect.text is not None and expect.text not in body:
        problems.append(f"text lacks {expect.text!r}: {body[:200]!r}")
    shown = body + (message["body_html"] or "")
    problems += [f"text has {lacking!r}" for lacking in expect.lacks if lacking in shown]
    if "\x00" in body or "<script" in (message["body_html"] or ""):
        problems.append("NUL or script kept")
    if expect.files is not None and len(message["attachment_ids"]) != expect.files:
        problems.append(f"{len(message['attachment_ids'])} files, wanted {expect.files}")
    if expect.subject is not None and subject != expect.subject:
        problems.append(f"subject {subject!r}")
    if "\n" in subject or len(subject) > 500:
        problems.append("subject has a line break or is too long")
    if expect.outcome == NOTE and not message["is_internal"]:
        problems.append("not an internal note")
    return problems
