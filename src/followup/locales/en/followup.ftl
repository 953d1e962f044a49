## Customer follow-up drafts (docs/PLAYBOOK.md §3 and §5): English, the reference
## locale. Every other locale has the same message ids.
##
## Variables:
##   $name    the customer's name
##   $plan    the plan or product name; $named is "yes" when there is one
##   $seats   a number of seats
##   $url     a portal login link or a hosted invoice page, never a session link
##   $amount  an amount with its currency, e.g. "EUR 39.00"
##   $date    an ISO date, e.g. "2026-11-26"
##
## Rule: a "next-" message says what the team will review; only a "done-"
## message may say that money moved or a subscription ended, and the code
## uses it only after Stripe confirmed the action.

greeting-named = Hi { $name },
greeting = Hi,
sign-off =
    Best regards,
    Billing support

## What was found, per category or outcome.

found-duplicate = Thank you for letting us know. You were signed up for { $named ->
        [yes] { $plan }
       *[no] the same plan
    } twice, which is our mistake to fix, not yours.
found-multi-seat = Your account is billed for { $seats ->
        [one] one seat
       *[other] { $seats } seats
    } on { $named ->
        [yes] { $plan }
       *[no] your plan
    }: each seat is one person on your team, charged at the plan's price per seat. Nothing was charged in error. If the number of seats should change, we are happy to help.
found-failed-payment = Your latest payment for { $named ->
        [yes] { $plan }
       *[no] your subscription
    } did not go through, so your subscription is at risk of being paused. To keep it running, please update your payment method or pay the open invoice.
found-self-serve = You can manage your { $named ->
        [yes] { $plan } subscription
       *[no] subscription
    } yourself: cancel, change plan, update your card or download invoices.
found-product-failure = We are sorry that { $named ->
        [yes] { $plan }
       *[no] our service
    } let you down: this should not have happened, and we are passing what you told us on to our product team.
found-needs-review = Thank you for your message about { $named ->
        [yes] your { $plan } subscription
       *[no] your billing
    }. We are looking into your account and will come back to you shortly.
found-not-found = Thank you for your message. We could not find a subscription with the details you gave. Could you reply with the email address you used at checkout, or the number on your receipt or invoice?

## Where the customer can act themselves.

link-portal = You can sign in to your billing portal here: { $url }
link-invoice = You can pay the open invoice here: { $url }
link-reply = Just reply to this message and we will take care of it.

## Before an action ran: what the team will review next. Nothing here may
## say that anything was done.

next-cancel-extra = Next, our billing team will review cancelling the extra subscription. Nothing has been changed yet; we will write again to confirm what was done.
next-cancel-extra-refund = Next, our billing team will review cancelling the extra subscription and refunding { $amount }. Nothing has been changed yet; we will write again to confirm what was done.
next-cancel = Next, our billing team will review cancelling your subscription. Nothing has been changed yet; we will write again to confirm what was done.
next-cancel-refund = Next, our billing team will review cancelling your subscription and refunding { $amount }. Nothing has been changed yet; we will write again to confirm what was done.
next-refund = Next, our billing team will review a refund of { $amount }. Nothing has been changed yet; we will write again to confirm what was done.
next-pause = Next, our billing team will review pausing payment collection on your subscription. Nothing has been changed yet; we will write again to confirm what was done.
next-resume = Next, our billing team will review resuming payment collection on your subscription. Nothing has been changed yet; we will write again to confirm what was done.

## After Stripe confirmed the action: what was done, with amount and date.

done-refunded = On { $date } we refunded { $amount }; it can take 5 to 10 business days to show on your statement.
done-canceled-extra = On { $date } we canceled the extra subscription, so you will not be charged for it again.
done-canceled-extra-refunded = On { $date } we canceled the extra subscription and refunded { $amount }; the refund can take 5 to 10 business days to show on your statement.
done-canceled = On { $date } we canceled your subscription, so you will not be charged again.
done-cancel-scheduled = On { $date } we set your subscription to end at the close of the current billing period, so you will not be charged again.
done-paused = On { $date } we paused payment collection on your subscription; your subscription stays in place, and you will not be charged until it is resumed.
done-paused-until = On { $date } we paused payment collection on your subscription until { $until }; your subscription stays in place, and charges resume on that date.
done-resumed = On { $date } we resumed payment collection on your subscription; charges continue from your next billing date.
