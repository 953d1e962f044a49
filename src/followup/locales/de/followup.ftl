## Customer follow-up drafts: German. Same message ids and variables as
## ../en/followup.ftl, which documents them. "next-" messages say what the
## team will review and must not say anything was done; "done-" messages are
## used only after Stripe confirmed the action.

greeting-named = Hallo { $name },
greeting = Hallo,
sign-off =
    Viele Grüße
    Ihr Abrechnungsteam

found-duplicate = Danke für Ihren Hinweis. Sie wurden zweimal für { $named ->
        [yes] { $plan }
       *[no] denselben Tarif
    } angemeldet. Das ist unser Fehler, und wir beheben ihn, nicht Sie.
found-multi-seat = Ihr Konto wird für { $seats ->
        [one] eine Lizenz
       *[other] { $seats } Lizenzen
    } in { $named ->
        [yes] { $plan }
       *[no] Ihrem Tarif
    } abgerechnet: Jede Lizenz steht für eine Person in Ihrem Team und wird zum Lizenzpreis des Tarifs berechnet. Es wurde nichts fälschlich berechnet. Wenn sich die Zahl der Lizenzen ändern soll, helfen wir gern.
found-failed-payment = Ihre letzte Zahlung für { $named ->
        [yes] { $plan }
       *[no] Ihr Abonnement
    } ist nicht durchgegangen, daher könnte Ihr Abonnement pausiert werden. Damit es weiterläuft, aktualisieren Sie bitte Ihre Zahlungsmethode oder begleichen Sie die offene Rechnung.
found-self-serve = Sie können { $named ->
        [yes] Ihr Abonnement für { $plan }
       *[no] Ihr Abonnement
    } selbst verwalten: kündigen, den Tarif wechseln, Ihre Karte aktualisieren oder Rechnungen herunterladen.
found-product-failure = Es tut uns leid, dass { $named ->
        [yes] { $plan }
       *[no] unser Dienst
    } Sie im Stich gelassen hat: Das hätte nicht passieren dürfen, und wir geben Ihre Schilderung an unser Produktteam weiter.
found-needs-review = Danke für Ihre Nachricht zu { $named ->
        [yes] Ihrem Abonnement für { $plan }
       *[no] Ihrer Abrechnung
    }. Wir prüfen Ihr Konto und melden uns in Kürze.
found-not-found = Danke für Ihre Nachricht. Mit den angegebenen Daten konnten wir kein Abonnement finden. Könnten Sie uns die E-Mail-Adresse nennen, die Sie beim Kauf verwendet haben, oder die Nummer auf Ihrer Quittung oder Rechnung?

link-portal = Hier können Sie sich in Ihrem Abrechnungsportal anmelden: { $url }
link-invoice = Hier können Sie die offene Rechnung bezahlen: { $url }
link-reply = Antworten Sie einfach auf diese Nachricht, wir kümmern uns darum.

next-cancel-extra = Als Nächstes prüft unser Abrechnungsteam die Kündigung des doppelten Abonnements. Bisher wurde nichts geändert; wir melden uns wieder und bestätigen, was erledigt wurde.
next-cancel-extra-refund = Als Nächstes prüft unser Abrechnungsteam die Kündigung des doppelten Abonnements und eine Erstattung von { $amount }. Bisher wurde nichts geändert; wir melden uns wieder und bestätigen, was erledigt wurde.
next-cancel = Als Nächstes prüft unser Abrechnungsteam die Kündigung Ihres Abonnements. Bisher wurde nichts geändert; wir melden uns wieder und bestätigen, was erledigt wurde.
next-cancel-refund = Als Nächstes prüft unser Abrechnungsteam die Kündigung Ihres Abonnements und eine Erstattung von { $amount }. Bisher wurde nichts geändert; wir melden uns wieder und bestätigen, was erledigt wurde.
next-refund = Als Nächstes prüft unser Abrechnungsteam eine Erstattung von { $amount }. Bisher wurde nichts geändert; wir melden uns wieder und bestätigen, was erledigt wurde.
next-pause = Als Nächstes prüft unser Abrechnungsteam, den Zahlungseinzug für Ihr Abonnement zu pausieren. Noch wurde nichts geändert; wir melden uns, sobald es erledigt ist.
next-resume = Als Nächstes prüft unser Abrechnungsteam, den Zahlungseinzug für Ihr Abonnement wieder aufzunehmen. Noch wurde nichts geändert; wir melden uns, sobald es erledigt ist.

done-refunded = Am { $date } haben wir Ihnen { $amount } erstattet; es kann 5 bis 10 Werktage dauern, bis der Betrag auf Ihrem Kontoauszug erscheint.
done-canceled-extra = Am { $date } haben wir das doppelte Abonnement gekündigt; dafür wird Ihnen nichts mehr berechnet.
done-canceled-extra-refunded = Am { $date } haben wir das doppelte Abonnement gekündigt und Ihnen { $amount } erstattet; es kann 5 bis 10 Werktage dauern, bis die Erstattung auf Ihrem Kontoauszug erscheint.
done-canceled = Am { $date } haben wir Ihr Abonnement gekündigt; es wird Ihnen nichts mehr berechnet.
done-cancel-scheduled = Am { $date } haben wir Ihr Abonnement zum Ende des laufenden Abrechnungszeitraums gekündigt; danach wird Ihnen nichts mehr berechnet.
done-paused = Am { $date } haben wir den Zahlungseinzug für Ihr Abonnement pausiert; das Abonnement bleibt bestehen, und bis zur Wiederaufnahme wird nichts abgebucht.
done-paused-until = Am { $date } haben wir den Zahlungseinzug für Ihr Abonnement bis zum { $until } pausiert; das Abonnement bleibt bestehen, und ab diesem Datum wird wieder abgebucht.
done-resumed = Am { $date } haben wir den Zahlungseinzug für Ihr Abonnement wieder aufgenommen; ab Ihrem nächsten Abrechnungsdatum wird wieder abgebucht.
