"""What the demo's customers and agents write: conversations per topic, filled per ticket.

The tenants sell an online booking and invoicing service to small businesses (clinics, studios,
practices). Every text here was written for the demo; `{name}` fields are filled per ticket
(see FIELDS). A case keeps one conversation coherent: its subject, the customer's first message,
the agent's question, the customer's answer and the solution belong together.
"""

from __future__ import annotations

from dataclasses import dataclass

from frontdesk.tickets.models import TicketType


@dataclass(frozen=True)
class Case:
    subjects: tuple[str, ...]
    opening: str
    #: The agent's first answer, asking for what is missing.
    ask: str
    #: The customer's answer to it.
    details: str
    #: The agent's answer that solves it.
    fix: str
    #: Why it waits on someone other than the customer (else a general reason).
    hold: str | None = None
    #: Internal notes that fit this case (besides the topic's).
    notes: tuple[str, ...] = ()
    #: A file the customer may send with their answer: ("png" or "txt", what they say about it).
    attach: tuple[str, str] | None = None


@dataclass(frozen=True)
class Topic:
    """One kind of request: where it goes, how urgent it tends to be, how it is talked about."""

    key: str
    group: str
    category: tuple[str, str]
    type: TicketType
    #: "low", "normal", "high" or "urgent": how pressing such requests usually are.
    heat: str
    tags: tuple[str, ...]
    cases: tuple[Case, ...]
    notes: tuple[str, ...] = ()
    weight: int = 3

    @property
    def is_problem(self) -> bool:
        return self.type in (TicketType.INCIDENT, TicketType.PROBLEM)


Q, INC, PROB, TASK = TicketType.QUESTION, TicketType.INCIDENT, TicketType.PROBLEM, TicketType.TASK

BILLING_TOPICS = (
    Topic(
        key="double_charge",
        group="Billing",
        category=("Billing", "Payments"),
        type=INC,
        heat="high",
        tags=("billing", "duplicate-charge"),
        cases=(
            Case(
                subjects=(
                    "Charged twice for our {month} subscription",
                    "Two identical charges of {amount} on our statement",
                ),
                opening="Our bank statement shows two charges of {amount} from {company} on"
                " {date}, both for the {plan} plan. We only have one account, so one of them"
                " must be a mistake. Could you check and refund the extra one?",
                ask="Thanks for flagging this, and sorry for the worry. I can see one successful"
                " payment of {amount} on your account. Could you tell me whether both charges"
                " are marked as posted, or whether one is still pending? A pending line is often"
                " an authorization that drops off by itself.",
                details="Both are posted, card ending {card}. This is how they appear:\n"
                "{date}  {company_upper} SUBSCRIPTION  {amount}\n"
                "{date}  {company_upper} SUBSCRIPTION  {amount}",
                attach=("png", "I've attached a screenshot of the two statement lines."),
                fix="You were right: our payment provider retried a renewal that had already"
                " gone through, so you were charged twice. I've refunded the second charge of"
                " {amount}; it usually shows on your statement within 5 to 10 business days."
                " Sorry for the trouble.",
                hold="I've asked our payment provider to confirm the second charge before I"
                " refund it, so that nothing is refunded twice. They usually answer within two"
                " business days and I'll come back to you then.",
                notes=(
                    "Provider dashboard shows a retry on the renewal after a timeout. Third case"
                    " this month, worth mentioning to engineering.",
                ),
            ),
            Case(
                subjects=("Duplicate payment on the card ending {card}",),
                opening="I just noticed that the card ending {card} was charged {amount} twice"
                " this month. Our finance team is asking about it. Is this a double charge, and"
                " what happens next?",
                ask="I'm looking into it now. Could you send the dates of both charges exactly as"
                " they appear on the statement? Then I can match them to our payment records.",
                details="One is dated {date}, the other one the day after. Same amount, {amount}.",
                fix="I found the duplicate and refunded {amount} to the card ending {card}. You'll"
                " receive a refund receipt by email shortly, and the money should be back within"
                " a week or so, depending on your bank.",
                notes=("Two captures one day apart; refund approved by {lead_first}.",),
            ),
        ),
        weight=4,
    ),
    Topic(
        key="invoice_details",
        group="Billing",
        category=("Billing", "Invoices"),
        type=Q,
        heat="low",
        tags=("billing", "invoice"),
        cases=(
            Case(
                subjects=(
                    "Invoice {invoice} shows our old address",
                    "Please update our billing address",
                ),
                opening="Our accounts team can't book invoice {invoice} because it shows the"
                " address we had before we moved. Can you update the billing details and send a"
                " corrected copy?",
                ask="Happy to help. Could you send the company name and the new address exactly"
                " as they should appear on the invoice? Once I have them I'll update the account"
                " and regenerate {invoice}.",
                details="Here you go:\n{org}\nAccounts Payable\n12 Harbour Road, Suite 4\nThanks"
                " for sorting this out for us.",
                attach=("png", "I've attached a screenshot of the invoice with the old address."),
                fix="Done: I've updated the billing details and regenerated {invoice}. The"
                " corrected PDF is available under Settings, Billing, and future invoices will"
                " use the new address automatically.",
                notes=("Regenerated {invoice}; the old PDF is voided in the billing system.",),
            ),
            Case(
                subjects=("Purchase order number needed on invoices",),
                opening="From next month on, every invoice needs our purchase order number,"
                " otherwise our finance system rejects it. Is there a field for that? Invoice"
                " {invoice} is the one they just bounced.",
                ask="There is: account owners can add a PO number under Settings, Billing,"
                " Company details. Would you like me to add it for you? If so, please send the"
                " number exactly as it should be printed.",
                details="Yes please. The PO number is PO-{card}-{year}.",
                fix="All set. PO-{card}-{year} is saved on your account and I've reissued"
                " {invoice} with it. Every future invoice will carry it as well.",
                notes=("Annual billing; make sure the PO carries over at renewal.",),
            ),
            Case(
                subjects=("Please add our VAT number to invoices",),
                opening="We need our VAT ID on the invoices for tax reasons. Where can I add it,"
                " and can the last two invoices be regenerated with it?",
                ask="Sure. Could you send the VAT ID exactly as it should appear? I'll add it and"
                " regenerate both invoices for you.",
                details="It's EU{card}{rows}.",
                fix="Done: the VAT ID is saved on your account and the last two invoices have"
                " been regenerated with it. You can download them from Settings, Billing,"
                " History.",
            ),
        ),
    ),
    Topic(
        key="refund",
        group="Billing",
        category=("Billing", "Refunds"),
        type=TASK,
        heat="normal",
        tags=("billing", "refund"),
        cases=(
            Case(
                subjects=("Refund for unused seats",),
                opening="We removed {seats} seats in the middle of the billing period, but the"
                " invoice still charges for all of them. Could you refund the unused part?",
                ask="I can look into that. Could you confirm roughly when the seats were removed?"
                " Refunds go back to the original card, so please also let me know if that card"
                " is no longer active.",
                details="I removed them on {date}. The card is still active.",
                fix="I've refunded the unused part, {amount}, to the original card and adjusted"
                " the subscription. You'll get a credit note by email; the refund usually appears"
                " within 5 to 10 business days.",
                hold="Refunds of this size need a second approval on our side. I've requested it"
                " and will confirm as soon as it's through, normally within two business days.",
                notes=("Prorated refund calculated by hand; matches the billing preview.",),
            ),
            Case(
                subjects=("Request a refund after cancelling", "Charged after we cancelled"),
                opening="We cancelled our subscription on {date}, but the renewal went through"
                " the next day. We won't be using the service any more and would like the"
                " {amount} refunded.",
                ask="Sorry about that. Before I process the refund: do you want the account"
                " closed completely, or kept on the free plan so your data stays available?",
                details="Please close it completely. We've exported everything we need already.",
                fix="The refund of {amount} is on its way and the subscription is cancelled, so no"
                " further charges will be made. Your data stays available for export for 30"
                " days, after which it is deleted.",
                notes=("Cancelled after the renewal run; refund approved by {lead_first}.",),
            ),
        ),
    ),
    Topic(
        key="plan_change",
        group="Billing",
        category=("Billing", "Plans and seats"),
        type=TASK,
        heat="normal",
        tags=("billing", "plan-change"),
        cases=(
            Case(
                subjects=("Upgrade from {plan} to {other_plan}",),
                opening="We're growing and want to move from the {plan} plan to {other_plan}."
                " How is the price difference handled for the rest of this billing period?",
                ask="Good news, this is quick. Should the change take effect right away (the"
                " difference is then prorated), or from your next renewal date?",
                details="Right away, please. Prorated is fine.",
                fix="Done. Your account is on {other_plan} as of today. The prorated difference"
                " will show on your next invoice, and the new features are already switched on.",
                notes=("Possible upsell to annual billing; mention it to {lead_first}.",),
            ),
            Case(
                subjects=("Add {seats} seats mid-cycle", "More seats for new staff"),
                opening="We're hiring and need {seats} more seats from next week. Can you add"
                " them now, and will we be charged for the full month?",
                ask="Sure thing. Should the new people get the same permissions as your existing"
                " staff, or should some of them be admins?",
                details="Same permissions as everyone else, no new admins.",
                fix="I've added {seats} seats; you only pay for the rest of this period, and the"
                " invoice is under Settings, Billing. Invitations can be sent from Settings,"
                " Team whenever you're ready.",
            ),
            Case(
                subjects=("Switch to annual billing",),
                opening="We'd like to switch to annual billing to get the discount. Can that"
                " start right away, or only at our next renewal?",
                ask="It can start right away. Would you like to pay the annual invoice by card,"
                " as now, or by bank transfer?",
                details="By bank transfer, please.",
                fix="Your account is now on annual billing. The annual invoice, with the"
                " discount and a credit for the rest of this month, has been sent to your billing"
                " email; payment terms are 30 days.",
                notes=("Switched to annual, paid by invoice; credit for this month applied.",),
            ),
        ),
    ),
    Topic(
        key="payment_failed",
        group="Billing",
        category=("Billing", "Payments"),
        type=INC,
        heat="high",
        tags=("billing", "payment-failed"),
        cases=(
            Case(
                subjects=(
                    "Payment failed but the card is valid",
                    "Account shows an overdue banner after a failed payment",
                ),
                opening="We got an email saying our renewal payment failed, but the card works"
                " everywhere else. Now there's a red banner in the app saying the account will"
                " be limited. Please help before our staff get locked out.",
                ask="Sorry about the scare; nothing will be locked while we look into it. Could"
                " you check with your bank whether they blocked the payment? Banks often stop the"
                " first charge from a merchant abroad. After that, retrying from Settings,"
                " Billing should work.",
                details="The bank had flagged it as unusual and has cleared it now. I retried"
                " and it says 'Payment authorized'.",
                fix="Thanks. The payment went through, the invoice is marked as paid and the"
                " banner is gone. Nothing else is needed from you.",
                notes=("Grace period extended by 7 days while the bank sorts it out.",),
            ),
            Case(
                subjects=("Card declined on renewal",),
                opening="The renewal on {date} was declined. I updated the card right after, but"
                " the account still shows as overdue. What do I need to do?",
                ask="Could you try paying the open invoice from Settings, Billing, and tell me"
                " the exact error if it fails again?",
                details="The error says 'Your card does not support this type of purchase'. It's"
                " a company debit card.",
                attach=("png", "Here's a screenshot of the error."),
                fix="Some debit cards can't be used for recurring payments. I've switched your"
                " account to pay by invoice instead, so you'll receive a bank transfer invoice"
                " each period, and the warning is gone.",
                notes=("Customer moved to invoice billing; flagged in the billing system.",),
            ),
        ),
    ),
    Topic(
        key="receipts",
        group="Billing",
        category=("Billing", "Invoices"),
        type=Q,
        heat="low",
        tags=("invoice", "how-to"),
        cases=(
            Case(
                subjects=(
                    "Where can I download past receipts?",
                    "Need all of last year's invoices for our accountant",
                ),
                opening="Our accountant needs every invoice from last year in one go. Is there a"
                " way to download them together instead of one by one?",
                ask="Invoices are under Settings, Billing, History, but only account owners see"
                " that page. Are you signed in as the owner of the account?",
                details="I'm an admin, not the owner. The owner is my colleague {colleague}.",
                fix="I've sent a zip file with all invoices from the last twelve months to the"
                " account owner's email. For next time, the History page has a 'Download all'"
                " button at the bottom that does the same.",
                notes=("Owner-only billing history confuses admins; there's a feedback item.",),
            ),
        ),
        weight=2,
    ),
)

SUPPORT_TOPICS = (
    Topic(
        key="login",
        group="Support",
        category=("Account", "Sign-in and security"),
        type=INC,
        heat="normal",
        tags=("login",),
        cases=(
            Case(
                subjects=(
                    "Can't log in after resetting my password",
                    "Login page keeps saying my password is wrong",
                ),
                opening="I reset my password this morning and now I can't sign in at all. It"
                " just says the email or password is incorrect. I've tried three times with the"
                " new password.",
                ask="Sorry about that. Do you use a password manager or let {browser} save your"
                " passwords? Some of them still fill in the old password after a reset.",
                details="You're right, the browser filled in the old one. With the new password"
                " typed by hand it works.",
                fix="Glad that was it. I'd recommend updating the saved password so it doesn't"
                " happen again. Nothing else is wrong with your account.",
                notes=("Account not locked; the sign-in attempts used the old password.",),
            ),
            Case(
                subjects=("Password reset email never arrives",),
                opening="I've requested a password reset four times today and not one email has"
                " arrived. I checked the spam folder as well. Can you help me get back in?",
                ask="I can see the reset emails were sent. Could you check with your IT team"
                " whether your email filter holds messages from outside senders?",
                details="Our IT team found the emails in a quarantine folder. They've released"
                " them, but the links have expired now.",
                fix="I've sent you a fresh reset link that is valid for 24 hours. Your IT team"
                " may want to allow messages from our sending domain so that future emails"
                " arrive directly.",
                notes=("Our mail logs show delivery; the recipient's server quarantined them.",),
            ),
        ),
        weight=5,
    ),
    Topic(
        key="two_factor",
        group="Support",
        category=("Account", "Sign-in and security"),
        type=INC,
        heat="high",
        tags=("login", "2fa"),
        cases=(
            Case(
                subjects=("Locked out: lost the phone with my two-factor app",),
                opening="My phone was stolen over the weekend and the authenticator app was on"
                " it. I can't get into my account and I have a full day of appointments to"
                " manage. Please help.",
                ask="I'm sorry to hear that. For your security I need to verify you before"
                " removing two-factor: could you confirm the last four digits of the card on"
                " file? Another admin on your account could also reset it for you.",
                details="I'm the only admin. The card ends in {card}.",
                fix="Thank you, you're verified. I've turned off two-factor on your login; you'll"
                " be asked to set it up again the next time you sign in. Please keep the backup"
                " codes somewhere safe this time.",
                notes=("Identity verified by account email and card digits; 2FA reset logged.",),
            ),
            Case(
                subjects=("Two-factor codes are always rejected",),
                opening="Every code from the authenticator app is rejected as invalid. I haven't"
                " changed anything, and I'm the only admin on our account.",
                ask="Codes are often rejected when the phone's clock is a few minutes off. Could"
                " you check that the time on the phone is set automatically, and try again?",
                details="The clock was set by hand and was four minutes behind. I've switched it"
                " to automatic, but now I'm locked out after too many attempts.",
                attach=("png", "I've attached a screenshot of the message I get now."),
                fix="I've cleared the lock on your account, so you can sign in again now. With"
                " the clock on automatic the codes will be accepted from now on.",
                notes=("Lockout cleared by hand. Clock drift again; maybe widen the window?",),
            ),
        ),
    ),
    Topic(
        key="user_management",
        group="Support",
        category=("Account", "Users and permissions"),
        type=Q,
        heat="low",
        tags=("permissions", "how-to"),
        cases=(
            Case(
                subjects=("How do I give a colleague admin rights?",),
                opening="{colleague} is taking over the scheduling from next week and needs to"
                " manage the whole team. How do I make {colleague} an admin?",
                ask="Good question. Are you the account owner or an admin yourself? Only those"
                " two roles can change other people's permissions.",
                details="I'm the owner.",
                fix="Then it's quick: go to Settings, Team, click the person's name and choose"
                " the role. 'Admin' manages everything except billing; 'Staff' only sees their"
                " own calendar.",
            ),
            Case(
                subjects=("Remove a former employee's account",),
                opening="One of our therapists left last week. How do we remove her access"
                " without losing her past appointments and client notes?",
                ask="Happy to explain. Should her upcoming appointments move to a colleague, or"
                " have they all been cancelled already?",
                details="They've been moved already, so there's nothing left in her calendar.",
                fix="Then go to Settings, Team, open her profile and click 'Deactivate'. She can't"
                " sign in any more, all her past appointments and notes stay, and the seat is"
                " free for someone new.",
            ),
            Case(
                subjects=("Staff member can see all calendars, should only see her own",),
                opening="A new staff member can see everyone's calendar, but she should only see"
                " her own. Which setting controls that?",
                ask="That depends on her role. Could you check under Settings, Team which role"
                " she has?",
                details="It says 'Admin'. I must have picked the wrong one when I invited her.",
                fix="That explains it. Change her role to 'Staff' on the same page and she'll"
                " only see her own calendar from her next page load.",
            ),
        ),
        notes=("Standard how-to; sent the help center article as well.",),
    ),
    Topic(
        key="booking_page",
        group="Support",
        category=("Product", "Booking page"),
        type=PROB,
        heat="normal",
        tags=("booking", "timezone"),
        cases=(
            Case(
                subjects=(
                    "Booking page shows the wrong time zone",
                    "Online bookings arrive an hour off",
                ),
                opening="Since the clocks changed, our public booking page shows every slot one"
                " hour early. Clients in {tz} are turning up at the wrong time. Our calendar"
                " inside the app looks right.",
                ask="Thanks for the report. Which time zone is set under Settings, Business? The"
                " booking page uses that one, not the one in your personal profile.",
                details="The business setting says UTC; my profile says {tz}. I never changed the"
                " business one as far as I know.",
                attach=("png", "I've attached screenshots of both settings pages."),
                fix="That's the cause: the booking page followed the business time zone. I've"
                " set it to {tz}, and the slots now match your calendar. Existing appointments"
                " were not changed.",
                notes=("Accounts created before the migration default to UTC; known issue.",),
            ),
            Case(
                subjects=("Clients can book outside our opening hours",),
                opening="Clients are booking appointments at 7 in the morning even though we"
                " open at 9. We've set the opening hours in the settings, so why does the page"
                " allow it?",
                ask="Could you tell me the name of one service where this happens? Opening hours"
                " can be overridden per service, which is easy to miss.",
                details="It happens for 'Initial consultation'. I see now that it has its own"
                " hours starting at 7.",
                fix="The service's own hours take precedence over the general ones. If you clear"
                " them in the service settings, it will follow your normal opening hours again.",
                notes=("Per-service hours are a common trap; a warning in the UI is planned.",),
            ),
        ),
        weight=4,
    ),
    Topic(
        key="notifications",
        group="Support",
        category=("Product", "Notifications"),
        type=INC,
        heat="normal",
        tags=("notifications", "email"),
        cases=(
            Case(
                subjects=(
                    "Reminder emails not sent to clients",
                    "Clients say they got no reminder",
                ),
                opening="Several clients told us they didn't get the reminder for their"
                " appointment yesterday, and two didn't show up. Reminders are switched on in"
                " the settings.",
                ask="Sorry about the no-shows. Could you give me the date and time of one"
                " affected appointment, so I can check our delivery logs?",
                details="One was on {date} at {time}. Both clients use the same big webmail"
                " provider, if that helps.",
                fix="Our logs show that provider delayed the messages by several hours, so they"
                " arrived after the appointments. We've changed how we send to them and reminders"
                " are arriving on time again.",
                hold="Our email delivery partner is investigating delays to that webmail"
                " provider. I've linked your report to their incident and will update you when"
                " it's resolved.",
                notes=("Delivery logs: deferred by the recipient's provider for 6+ hours.",),
            ),
            Case(
                subjects=("Clients receive every reminder twice",),
                opening="Clients are getting every reminder twice, a few minutes apart. It"
                " started this week and makes us look sloppy.",
                ask="Could you check Settings, Notifications, and tell me whether both 'Email"
                " reminder' and 'Custom reminder' are switched on with the same timing?",
                details="Yes, both are on, 24 hours before. I didn't realize the custom one was a"
                " separate reminder.",
                attach=("png", "I've attached a screenshot of our notification settings."),
                fix="That explains the duplicates: each reminder rule sends its own message."
                " Switching one of them off will stop the second email.",
                notes=("Two overlapping reminder rules; the settings labels could be clearer.",),
            ),
        ),
    ),
    Topic(
        key="reports",
        group="Support",
        category=("Product", "Reports"),
        type=Q,
        heat="low",
        tags=("reports", "export"),
        cases=(
            Case(
                subjects=(
                    "How do I export last quarter's bookings?",
                    "Booking export for our accountant",
                ),
                opening="I need a list of all bookings from last quarter with client name,"
                " service and price for our accountant. Is there an export for that?",
                ask="Sure. Do you need only completed appointments, or cancelled and no-show ones"
                " as well? The export can include or leave them out.",
                details="Only completed ones, please.",
                fix="Go to Reports, Bookings, pick the date range and tick 'Completed only', then"
                " 'Export CSV'. The file lists client, service, staff member and price; phone"
                " numbers are an optional column in the same dialog.",
            ),
            Case(
                subjects=("Revenue report doesn't match our invoices",),
                opening="The revenue report for {month} shows one amount, but the invoices we"
                " sent add up to something quite different. Which one is right?",
                ask="Good question. Did you give any discounts or refunds that month? By default"
                " the report shows gross bookings, while invoices show what was charged.",
                details="We did give a few discounts that month. I didn't know there was a"
                " difference.",
                attach=("png", "I've attached a screenshot of both totals."),
                fix="That's the difference: switch the report to 'Net' at the top and it will"
                " match your invoices, discounts and refunds included.",
            ),
        ),
        notes=("Standard how-to; linked the reports article.",),
    ),
    Topic(
        key="feature_request",
        group="Support",
        category=("Product", "Feedback"),
        type=TASK,
        heat="low",
        tags=("feature-request",),
        cases=(
            Case(
                subjects=("Feature request: appointments every other week",),
                opening="Many of our clients come every second week, and right now we book each"
                " appointment by hand. A repeat option for every other week would save us hours.",
                ask="Thanks for the suggestion, that's a useful idea. Roughly how many clients"
                " would this apply to? It helps our product team judge the impact.",
                details="About a third of our regular clients, so around {rows} people.",
                fix="Thank you. I've added your vote and your use case to the request our product"
                " team keeps for this. I can't promise a date, but we'll let you know here if it"
                " ships.",
            ),
            Case(
                subjects=("Idea: let clients join a waiting list",),
                opening="It would be great if clients could join a waiting list for a fully"
                " booked day and get a message when a slot opens up.",
                ask="That's a nice idea. Should the first person on the list get the slot"
                " automatically, or just a message so they can book it themselves?",
                details="Just a message would be enough. We don't want surprise bookings.",
                fix="Good news: a waiting list with notifications is part of the next release,"
                " planned for the coming weeks. We'll let you know here when it's live.",
            ),
            Case(
                subjects=("Could the booking page use our own colours?",),
                opening="Our brand colours are green and grey, but the booking page is always"
                " blue. Is there a way to change it, or is that planned?",
                ask="Thanks for asking. Do you only need the colours changed, or also your own"
                " logo and fonts?",
                details="Colours and logo would be perfect. Fonts don't matter much.",
                fix="You can already upload a logo under Settings, Booking page. Custom colours"
                " are on our roadmap; I've added your request to it and we'll update you here"
                " when it's available.",
            ),
        ),
        notes=("Added to the feedback board; {count} other customers asked for this.",),
    ),
    Topic(
        key="mobile_app",
        group="Support",
        category=("Product", "Mobile app"),
        type=INC,
        heat="normal",
        tags=("mobile", "bug"),
        cases=(
            Case(
                subjects=("Mobile app crashes when opening the calendar",),
                opening="Since the last update, the app closes as soon as I tap on the calendar."
                " I'm on a {device} with app version {app_version}. The website still works.",
                ask="Sorry about that. Could you try signing out, deleting the app and"
                " installing it again? If it still crashes, please tell me the exact time it"
                " happened so we can find the crash report.",
                details="I reinstalled it and it still crashes. The last crash was today at"
                " {time}.",
                attach=(
                    "png",
                    "I've attached a screenshot of the message the app shows before it closes.",
                ),
                fix="We found the crash: it happened with calendars containing an appointment"
                " without an end time. The fixed version is now in the app store, so updating"
                " the app should solve it.",
                hold="Our mobile team has reproduced the crash and is testing a fix. I'll let you"
                " know as soon as the new version is in the app store.",
                notes=(
                    "Crash report matches the known missing end-time bug; fixed in the next build.",
                ),
            ),
            Case(
                subjects=("App logs me out every day",),
                opening="The app asks me to sign in again every single morning. It didn't use to"
                " do that. I'm using a {device}.",
                ask="Thanks. Does your phone have a battery saving or 'clear data' option"
                " switched on for our app?",
                details="There was a battery saver option for the app. I've turned it off.",
                fix="The battery saver was clearing the app's login. With it off you'll stay"
                " signed in; you can also mark the app as 'unrestricted' in the phone's"
                " settings.",
                notes=("Phone battery optimisation; there's a help article for it.",),
            ),
        ),
    ),
    Topic(
        key="data_import",
        group="Support",
        category=("Account", "Data import"),
        type=PROB,
        heat="normal",
        tags=("import",),
        cases=(
            Case(
                subjects=("Client import fails at row {rows}",),
                opening="I'm trying to import our client list from a spreadsheet, but it stops at"
                " row {rows} with 'Invalid value'. I can't see anything wrong with that row.",
                ask="Could you tell me what's in the date of birth and phone columns of that row?"
                " The importer is strict about formats there.",
                details="The date of birth is written as 31.04.1988, which I now see isn't a real"
                " date.",
                attach=("txt", "I've attached the import report."),
                fix="That's it: the importer rejects dates that don't exist. If you correct that"
                " cell, or leave it empty, the rest of the file will import.",
                notes=(
                    "The error message should name the column; noted on the importer feedback.",
                ),
            ),
            Case(
                subjects=("Importing from our old booking system",),
                opening="We're moving from our old booking system and have about {rows} clients"
                " and their upcoming appointments to bring over. What's the best way to do this?",
                ask="We can help with that. Can your old system export to CSV, and do you need"
                " past appointments or only upcoming ones?",
                details="Yes, it exports CSV. Only upcoming appointments and the client list,"
                " please.",
                fix="Great. Use Settings, Import, choose 'Clients' first and then"
                " 'Appointments'; the importer lets you map your old columns to ours. Try a file"
                " with a few rows first.",
            ),
        ),
    ),
)

TECHNICAL_TOPICS = (
    Topic(
        key="api",
        group="Technical",
        category=("Technical", "API and webhooks"),
        type=INC,
        heat="normal",
        tags=("api",),
        cases=(
            Case(
                subjects=("API returns 401 with a brand new token",),
                opening="We created a new API token this morning, but every call to the"
                " appointments endpoint returns 401 Unauthorized. The old token still works.",
                ask="Could you send the request ID of one failing response (the X-Request-ID"
                " header) and the token's name? Please never send the token itself.",
                details="Request ID is req_{card}{rows}, token name 'sync-{month}'.",
                attach=("txt", "I've attached our log of the failing requests."),
                fix="The new token was created with read-only scope, so writing appointments is"
                " refused. A token with the 'appointments:write' scope will work.",
                notes=("Token scopes confirmed in the admin view: read only.",),
            ),
            Case(
                subjects=("API rate limit reached much earlier than documented",),
                opening="Our integration gets 429 responses after about {rows} requests in a"
                " minute, although the documentation mentions a higher limit for our plan.",
                ask="Are several services using tokens from the same account? Limits are counted"
                " per account, not per token.",
                details="Yes, three services use tokens from the same account, so that could add"
                " up.",
                fix="Right, all three count against one limit. Spreading the sync over a few"
                " minutes or batching requests will keep you under it; I've raised your limit"
                " for this month while you adjust.",
                notes=("Rate limit raised temporarily; it expires at the end of the month.",),
            ),
        ),
    ),
    Topic(
        key="webhooks",
        group="Technical",
        category=("Technical", "API and webhooks"),
        type=INC,
        heat="high",
        tags=("api", "webhooks"),
        cases=(
            Case(
                subjects=(
                    "Webhooks delayed by several hours",
                    "Webhooks arrive hours late",
                ),
                opening="Booking webhooks reach our system hours late, sometimes the next day."
                " Our front desk relies on them to prepare rooms. Was something changed?",
                ask="Could you tell me one booking that arrived late? Our delivery log shows each"
                " attempt and the response your server gave.",
                details="Booking {invoice} is one of them; it was made at {time} and arrived in"
                " the evening.",
                attach=("txt", "I've attached our log of when the deliveries arrived."),
                fix="Your endpoint answered with a timeout several times, so our retries backed"
                " off for longer each time. Answering with 200 right away and doing the work in"
                " the background will keep deliveries on time.",
                hold="I've escalated this to our platform engineers as {ref}; they're looking at"
                " the delivery queue. I'll update you as soon as I hear back.",
                notes=("Delivery log: consecutive timeouts, backoff up to 6 hours.",),
            ),
            Case(
                subjects=("Webhook signature does not verify",),
                opening="Our endpoint rejects every webhook because the signature check fails."
                " We followed the documentation step by step.",
                ask="Does your framework parse the JSON before you compute the signature? The"
                " signature covers the exact bytes we send; even re-encoding the JSON changes"
                " them.",
                details="We were using the parsed body. With the raw body it matches now.",
                fix="Great that it works now. For anyone reading this later: always check the"
                " signature against the raw body, before any parsing.",
                notes=("Not a bug on our side; the docs example now stresses the raw body.",),
            ),
        ),
    ),
    Topic(
        key="performance",
        group="Technical",
        category=("Technical", "Performance"),
        type=PROB,
        heat="high",
        tags=("performance",),
        cases=(
            Case(
                subjects=(
                    "Calendar takes {seconds} seconds to load",
                    "Week view freezes the browser",
                ),
                opening="Opening the week view takes about {seconds} seconds for us. It used to be"
                " instant. We show {seats} staff calendars at once, in {browser}.",
                ask="Sorry for the trouble. Could you open the week view with only your own"
                " calendar selected and tell me whether that's fast? That tells us whether it's"
                " the number of calendars or something else.",
                details="With only my calendar it's fast. With everyone selected it's slow again.",
                attach=("txt", "I've attached what the browser console shows while it loads."),
                fix="We found a slow query for accounts with many staff calendars and deployed a"
                " fix this afternoon. The week view should load in about a second again.",
                hold="Our engineers have reproduced the slowdown and are working on a fix ({ref})."
                " I'm keeping this ticket open until it's deployed.",
                notes=(
                    "Slow query log shows the week view scanning all appointments; {ref} filed.",
                ),
            ),
            Case(
                subjects=("Everything is very slow since this morning",),
                opening="Since this morning every page in the app is slow, sometimes it times"
                " out. Our front desk is queueing people at the counter.",
                ask="Could you tell me roughly when it started and whether everyone in your"
                " office is affected, or only some computers?",
                details="Everyone, since about {time}. Other websites load fine.",
                fix="One of our database servers had a problem this morning; it's been fixed and"
                " response times are back to normal. Sorry for the disruption at your front"
                " desk.",
                notes=("Matches the incident on the status page; linked for the incident report.",),
            ),
        ),
    ),
    Topic(
        key="outage",
        group="Technical",
        category=("Technical", "Performance"),
        type=INC,
        heat="urgent",
        tags=("outage", "escalated"),
        cases=(
            Case(
                subjects=("Booking page is down for all our clients",),
                opening="Our public booking page shows an error for everyone, and clients are"
                " calling us. We're losing bookings every minute. Please look at this now.",
                ask="Thanks for reporting this so quickly. We see errors on our side too and the"
                " team is on it. Is your booking page on your own domain or on the standard"
                " address?",
                details="On our own domain, book.{org_slug}.example.",
                attach=("png", "A screenshot of the error page is attached."),
                fix="The booking page is back: a configuration change for custom domains failed"
                " and was rolled back. It has been working since {time}. We're sorry for the lost"
                " bookings; a full incident report will follow on our status page.",
                notes=("Part of the custom-domain incident; all custom-domain accounts affected.",),
            ),
            Case(
                subjects=("Error 502 on every page", "URGENT: cannot open any appointment"),
                opening="Every page in the app returns 'Bad gateway'. We can't see today's"
                " appointments at all and the waiting room is full.",
                ask="We're aware and working on it right now. Can you still open the mobile app?"
                " It uses a different route and may work in the meantime.",
                details="The mobile app works, thanks. We're using that for now.",
                fix="Everything is running again. A failed deployment took down part of our"
                " servers; it was rolled back and we're reviewing how it got through. Apologies"
                " for the disruption.",
                notes=(
                    "Customer asked about compensation; {lead_first} decides after the review.",
                ),
            ),
        ),
        weight=2,
    ),
    Topic(
        key="sso",
        group="Technical",
        category=("Technical", "Single sign-on"),
        type=TASK,
        heat="normal",
        tags=("sso", "login"),
        cases=(
            Case(
                subjects=("Setting up single sign-on for our staff",),
                opening="We'd like our staff to sign in with their company accounts. We use a"
                " SAML identity provider. What do you need from us to set this up?",
                ask="Single sign-on is part of the Business plan. Could you send the metadata URL"
                " of your identity provider? I'll send our service details in return.",
                details="The metadata URL is https://login.{org_slug}.example/metadata.",
                fix="Single sign-on is configured. Your staff can now use 'Sign in with company"
                " account'; password login stays available to the owner as a fallback.",
                notes=("Configured and tested together with their IT on a call.",),
            ),
            Case(
                subjects=("SSO login loops back to the sign-in page",),
                opening="After setting up SSO, clicking 'Sign in with company account' sends"
                " people back to our sign-in page in an endless loop.",
                ask="Could you check which attribute your identity provider sends as the email?"
                " If it doesn't match the user's email in our app, the user is sent back to sign"
                " in.",
                details="It sends the username, not the email. We've changed the attribute"
                " mapping.",
                fix="That was it. With the email attribute mapped, the loop is gone and users"
                " sign in straight away.",
            ),
        ),
    ),
    Topic(
        key="privacy",
        group="Technical",
        category=("Technical", "Data and privacy"),
        type=TASK,
        heat="normal",
        tags=("privacy",),
        cases=(
            Case(
                subjects=("Please delete the data of a former client",),
                opening="A former client has asked us to delete all of her data, including her"
                " appointment history. How do we do that properly in your system?",
                ask="Of course. To be sure I act on the right account: could the account owner"
                " confirm this request by replying here?",
                details="I'm the owner and I confirm the request.",
                fix="Done. The client's profile, appointments and notes have been permanently"
                " deleted; invoices are kept in anonymised form, as the law requires. A"
                " confirmation is on its way to your email.",
                notes=("Deletion done with the admin tool; confirmation sent.",),
            ),
            Case(
                subjects=(
                    "Request for a complete data export",
                    "Data processing agreement for our audit",
                ),
                opening="For our annual audit we need a full export of our account data and a"
                " signed data processing agreement. Where can we get these?",
                ask="Happy to help. Should the export include the client notes as well? They can"
                " contain sensitive details, so we leave them out unless asked.",
                details="Yes, please include the notes. The auditors want everything.",
                fix="Your export, notes included, is ready under Settings, Data, Exports, and the"
                " signed agreement has been sent to the account owner's email.",
            ),
        ),
    ),
    Topic(
        key="bugs",
        group="Technical",
        category=("Technical", "Bugs"),
        type=PROB,
        heat="normal",
        tags=("bug",),
        cases=(
            Case(
                subjects=("Invoice PDF cuts off long item names",),
                opening="Long service names on our invoices are cut off in the PDF, so clients"
                " can't see what they paid for. The names look fine on screen.",
                ask="Thanks for the clear description. Could you tell me one invoice where this"
                " happens, so I can reproduce it?",
                details="Invoice {invoice} is one example.",
                attach=("png", "I've attached a screenshot of the PDF."),
                fix="I could reproduce it and our developers fixed it in today's release. New"
                " invoices are correct, and older ones can be regenerated from the same page.",
                hold="I've reproduced it and filed it with our developers as {ref}. I'll keep"
                " this ticket on hold and update you when the fix is released.",
                notes=("Reproduced on staging; filed as {ref}.",),
            ),
            Case(
                subjects=("Calendar sync creates duplicate events",),
                opening="Our calendar sync creates each appointment twice in our external"
                " calendar. It started after we reconnected the sync on {date}.",
                ask="Could you check under Settings, Integrations how many calendar connections"
                " are listed?",
                details="There are two, one from before and the new one.",
                fix="That's the cause: the old connection was still active next to the new one."
                " I've removed it and deleted the duplicates from your external calendar.",
            ),
            Case(
                subjects=("Search doesn't find clients with accents in their names",),
                opening="Searching for a client named 'Zoë' finds nothing unless I type the name"
                " without the accent. We have many clients with accents.",
                ask="Thanks, I can see the same here. Does it also happen when you search by"
                " email or phone number, or only by name?",
                details="Only by name. Email and phone work fine.",
                fix="Fixed in today's release: name search now ignores accents, so 'Zoe' and"
                " 'Zoë' both find the client.",
                hold="I've filed this with our developers as {ref}. I'll keep the ticket on hold"
                " until the fix is out.",
                notes=("Search index lacks accent folding; {ref}.",),
            ),
        ),
    ),
)

SALES_TOPICS = (
    Topic(
        key="pricing",
        group="Sales",
        category=("Sales", "Pricing"),
        type=Q,
        heat="low",
        tags=("pricing",),
        cases=(
            Case(
                subjects=("Pricing for {locations} locations", "Quote for the Business plan"),
                opening="We're opening more sites and will soon have {locations} locations with"
                " about {seats} staff each. What would the Business plan cost for that setup?",
                ask="Thanks for your interest. To prepare a quote: does each location need its"
                " own booking page, and would you pay monthly or annually?",
                details="Each location needs its own page. Annual billing is fine.",
                fix="I've emailed you a quote for {locations} locations on annual billing,"
                " including the volume discount. It's valid for 30 days; just reply here if"
                " you'd like to go ahead or talk it through on a call.",
                notes=("Quote sent; follow up in two weeks if there's no answer.",),
            ),
            Case(
                subjects=("Is there a discount for nonprofits?",),
                opening="We're a registered nonprofit. Do you offer discounted pricing?",
                ask="We do. Could you send your registration number so I can apply it?",
                details="Our registration number is NP-{card}{rows}.",
                fix="Thank you. Nonprofits get 30% off any plan; I've applied the discount to"
                " your account and it will show from your next invoice.",
            ),
        ),
    ),
    Topic(
        key="demo_request",
        group="Sales",
        category=("Sales", "Demos"),
        type=TASK,
        heat="low",
        tags=("demo",),
        cases=(
            Case(
                subjects=("Walkthrough for our new admins",),
                opening="We have {people} new admins who'd like a short walkthrough of the admin"
                " features. Could someone give us a video call next week?",
                ask="Gladly. Which days and times work best for you next week? A walkthrough"
                " takes about 45 minutes.",
                details="{weekday} afternoon would be ideal, any time after 2.",
                fix="I've sent a calendar invitation for {weekday} at 2:30 with the video link."
                " See you then!",
                notes=("Walkthrough booked; {lead_first} joins for the last part.",),
            ),
            Case(
                subjects=("Can we get a demo of the reporting features?",),
                opening="Before we upgrade we'd like to see the reporting features with our own"
                " data. Is a demo possible?",
                ask="Of course. Which reports matter most to you: revenue, staff utilisation or"
                " client retention? I'll prepare those.",
                details="Revenue and staff utilisation, mostly.",
                fix="Thanks for your time on the call today. I've emailed you the recording and"
                " a summary of the reports we looked at; let me know if questions come up.",
            ),
        ),
        weight=2,
    ),
    Topic(
        key="contract",
        group="Sales",
        category=("Sales", "Contracts"),
        type=TASK,
        heat="normal",
        tags=("contract",),
        cases=(
            Case(
                subjects=("Annual contract and purchase order",),
                opening="Our procurement team needs a signed annual contract before they can"
                " issue a purchase order. Can you send one over?",
                ask="Of course. Could you send the legal entity name and the billing address"
                " that should go on the contract?",
                details="The legal entity is {org}, with the same address as on our invoices.",
                fix="The signed contract is on its way to your email. Once the purchase order is"
                " ready, reply here with the PO number and we'll put it on the invoice.",
                notes=("Contract draft reviewed by {lead_first}.",),
            ),
            Case(
                subjects=("Security questionnaire from our IT department",),
                opening="Our IT department has a security questionnaire ({rows} questions) that"
                " needs to be filled in before renewal. Who on your side can help?",
                ask="Our security team can. Is there a deadline we should work towards?",
                details="Before the end of the month would be great.",
                fix="Our security team has filled in the questionnaire; it's in your inbox"
                " together with our latest audit summary.",
                hold="Our security team is working through the questionnaire. I'll send it back"
                " as soon as they're done.",
            ),
        ),
        weight=2,
    ),
)

TOPICS: tuple[Topic, ...] = BILLING_TOPICS + SUPPORT_TOPICS + TECHNICAL_TOPICS + SALES_TOPICS

# --- the parts of every conversation -----------------------------------------------------------

CUSTOMER_GREETINGS = ("Hello,", "Hi,", "Hi there,", "Good morning,", "Hello {company} team,")
CUSTOMER_REPLY_GREETINGS = (
    "Hi {agent_first},",
    "Hello {agent_first},",
    "Hi,",
    "Thanks {agent_first}.",
)
CUSTOMER_SIGNOFFS = (
    "Thanks,\n{first}",
    "Best regards,\n{name}\n{org}",
    "Kind regards,\n{name}",
    "Thank you!\n{first}",
    "Cheers,\n{first}",
)
AGENT_GREETINGS = ("Hi {first},", "Hello {first},", "Dear {first},")
AGENT_SIGNOFFS = (
    "Best,\n{agent}\n{company} {group}",
    "Kind regards,\n{agent}",
    "Thanks,\n{agent_first}",
)

ACKS = (
    "Thanks for getting in touch. I'm looking into this now and will get back to you as soon as"
    " I know more.",
    "Thank you for the details. I've started looking into it and will update you today.",
)
#: Follow-up questions with their answers: for problems, and for requests.
MORE_ON_PROBLEMS = (
    (
        "Thanks, that helps. Does this happen for everyone on your team, or only for you?",
        "Everyone in the office sees it, as far as I can tell.",
    ),
    (
        "Thank you. Could you also tell me roughly when this started?",
        "I think it started around {date}, but I'm not completely sure of the day.",
    ),
    (
        "Got it. Has anything changed on your side recently, like settings or devices?",
        "Not that I know of. Nobody here has touched the settings in weeks.",
    ),
)
MORE_ON_REQUESTS = (
    (
        "Thanks, that helps. Is there a deadline on your side I should keep in mind?",
        "No hard deadline, but before the end of the month would be great.",
    ),
    (
        "Thank you. Should I let anyone else on your team know once it's done?",
        "Yes, please let my colleague {colleague} know as well.",
    ),
)
UPDATES = (
    "A quick update: I've shared this with a colleague who knows this area well, and we're"
    " working on it. I'll be in touch as soon as we have an answer.",
    "A quick update: this needs a sign-off from a colleague, which I expect today. I'll come"
    " back to you as soon as it's done.",
)
UPDATES_ON_PROBLEMS = (
    UPDATES[0],
    "I'm still on this. I've narrowed it down and expect to have a proper answer for you tomorrow.",
)
NUDGES = (
    "Just checking in on this one. Is there anything else you need from me?",
    "Sorry to chase, but could you let me know where this stands?",
)
NUDGES_ON_PROBLEMS = ("Any news on this? It's still affecting us.", *NUDGES)
HOLDS = (
    "I've passed this on to our specialists and I'm waiting for their answer. I'll keep this"
    " ticket on hold in the meantime and update you as soon as I hear back.",
)
HOLDS_ON_PROBLEMS = (
    *HOLDS,
    "This needs a change on our side, which is now with our engineering team ({ref}). I'll"
    " update you here when there's news.",
)
HOLD_NOTES = (
    "Waiting on engineering, {ref}. Don't promise a date.",
    "Asked the specialists in the team chat; {lead_first} is following it.",
)
HOLD_UPDATES = (
    "No news yet, I'm afraid; the team is still working on it. I'll update you as soon as"
    " there is progress.",
    "A short update: the fix is being tested now. Thanks for your patience.",
)
CONFIRM_ON_PROBLEMS = (
    "Could you check whether everything works on your side now?",
    "Let me know if that solves it for you.",
    "Please give it a try and tell me how it goes.",
)
CONFIRM_ON_REQUESTS = (
    "Let me know if there's anything else you need.",
    "Does that cover everything?",
)
THANKS_ON_PROBLEMS = (
    "That worked, thank you so much for the quick help!",
    "All good now. Thanks for sorting it out.",
    "Confirmed, it's working again. Much appreciated.",
)
THANKS_ON_REQUESTS = (
    "Perfect, that's exactly what we needed.",
    "Thanks a lot, that covers everything.",
    "Great, thank you for the quick help!",
)
CLOSINGS = (
    "Great to hear! I'll mark this as resolved. If anything else comes up, just reply here.",
    "Glad it's sorted. I'm resolving this ticket now; you can reopen it by replying.",
)
EXTRAS = (
    "Forgot to mention: this is quite urgent for us, we have a busy week ahead.",
    "A bit more context: my colleague {colleague} ran into the same thing.",
    "One more thing: I'm out of the office on {weekday}, so please reply by email.",
)
GENERIC_NOTES = (
    "Customer is on the {plan} plan with {seats} seats. Long-standing account, very friendly.",
    "Similar ticket last month from the same organization; see their history.",
    "{lead_first}, could you have a look? I'm not sure this is expected behaviour.",
    "Called the customer to clarify; the summary is in the thread.",
)
LIGHT_AGENT_NOTES = (
    "Looked at the account: the setting the customer mentions was changed {days} days ago by"
    " one of their admins.",
    "FYI, the customer also called about this yesterday.",
)

#: Every `{field}` a template may use; each ticket's facts fill all of them.
FIELDS = frozenset(
    {
        "first",
        "name",
        "org",
        "org_slug",
        "colleague",
        "company",
        "company_upper",
        "agent",
        "agent_first",
        "lead_first",
        "group",
        "invoice",
        "amount",
        "month",
        "year",
        "card",
        "plan",
        "other_plan",
        "seats",
        "rows",
        "seconds",
        "locations",
        "people",
        "browser",
        "device",
        "app_version",
        "date",
        "weekday",
        "time",
        "tz",
        "ref",
        "days",
        "count",
    }
)
