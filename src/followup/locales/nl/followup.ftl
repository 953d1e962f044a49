## Customer follow-up drafts: Dutch. Same message ids and variables as
## ../en/followup.ftl, which documents them. "next-" messages say what the
## team will review and must not say anything was done; "done-" messages are
## used only after Stripe confirmed the action.

greeting-named = Beste { $name },
greeting = Hallo,
sign-off =
    Met vriendelijke groet,
    Team facturatie

found-duplicate = Bedankt voor uw bericht. U bent twee keer ingeschreven voor { $named ->
        [yes] { $plan }
       *[no] hetzelfde abonnement
    }. Dat is onze fout, en het is aan ons om die te herstellen, niet aan u.
found-multi-seat = Uw account wordt gefactureerd voor { $seats ->
        [one] één licentie
       *[other] { $seats } licenties
    } op { $named ->
        [yes] { $plan }
       *[no] uw abonnement
    }: elke licentie staat voor één persoon in uw team, tegen de prijs per licentie van het abonnement. Er is niets ten onrechte in rekening gebracht. Als het aantal licenties moet veranderen, helpen we u graag.
found-failed-payment = Uw laatste betaling voor { $named ->
        [yes] { $plan }
       *[no] uw abonnement
    } is niet gelukt, waardoor uw abonnement mogelijk wordt gepauzeerd. Werk uw betaalmethode bij of betaal de openstaande factuur om het actief te houden.
found-self-serve = U kunt { $named ->
        [yes] uw { $plan }-abonnement
       *[no] uw abonnement
    } zelf beheren: opzeggen, van abonnement wisselen, uw kaart bijwerken of facturen downloaden.
found-product-failure = Het spijt ons dat { $named ->
        [yes] { $plan }
       *[no] onze dienst
    } u in de steek heeft gelaten: dit had niet mogen gebeuren, en we geven wat u ons vertelde door aan ons productteam.
found-needs-review = Bedankt voor uw bericht over { $named ->
        [yes] uw { $plan }-abonnement
       *[no] uw facturatie
    }. We bekijken uw account en komen snel bij u terug.
found-not-found = Bedankt voor uw bericht. We konden geen abonnement vinden met de gegevens die u gaf. Kunt u antwoorden met het e-mailadres dat u bij de aankoop gebruikte, of het nummer op uw bon of factuur?

link-portal = Hier kunt u inloggen op uw facturatieportaal: { $url }
link-invoice = Hier kunt u de openstaande factuur betalen: { $url }
link-reply = Beantwoord dit bericht gewoon, dan regelen wij het.

next-cancel-extra = Als volgende stap bekijkt ons facturatieteam het opzeggen van het dubbele abonnement. Er is nog niets gewijzigd; we schrijven u opnieuw om te bevestigen wat er is gedaan.
next-cancel-extra-refund = Als volgende stap bekijkt ons facturatieteam het opzeggen van het dubbele abonnement en een terugbetaling van { $amount }. Er is nog niets gewijzigd; we schrijven u opnieuw om te bevestigen wat er is gedaan.
next-cancel = Als volgende stap bekijkt ons facturatieteam het opzeggen van uw abonnement. Er is nog niets gewijzigd; we schrijven u opnieuw om te bevestigen wat er is gedaan.
next-cancel-refund = Als volgende stap bekijkt ons facturatieteam het opzeggen van uw abonnement en een terugbetaling van { $amount }. Er is nog niets gewijzigd; we schrijven u opnieuw om te bevestigen wat er is gedaan.
next-refund = Als volgende stap bekijkt ons facturatieteam een terugbetaling van { $amount }. Er is nog niets gewijzigd; we schrijven u opnieuw om te bevestigen wat er is gedaan.
next-pause = Ons factuurteam bekijkt nu het pauzeren van de incasso voor uw abonnement. Er is nog niets gewijzigd; we laten u weten wat er is gedaan.
next-resume = Ons factuurteam bekijkt nu het hervatten van de incasso voor uw abonnement. Er is nog niets gewijzigd; we laten u weten wat er is gedaan.

done-refunded = Op { $date } hebben we { $amount } terugbetaald; het kan 5 tot 10 werkdagen duren voordat dit op uw afschrift staat.
done-canceled-extra = Op { $date } hebben we het dubbele abonnement opgezegd, zodat u daarvoor niet meer betaalt.
done-canceled-extra-refunded = Op { $date } hebben we het dubbele abonnement opgezegd en { $amount } terugbetaald; het kan 5 tot 10 werkdagen duren voordat de terugbetaling op uw afschrift staat.
done-canceled = Op { $date } hebben we uw abonnement opgezegd, zodat u niet meer betaalt.
done-cancel-scheduled = Op { $date } hebben we uw abonnement zo ingesteld dat het eindigt aan het einde van de huidige factuurperiode, zodat u daarna niet meer betaalt.
done-paused = Op { $date } hebben we de incasso voor uw abonnement gepauzeerd; uw abonnement blijft bestaan en er wordt niets afgeschreven tot de incasso wordt hervat.
done-paused-until = Op { $date } hebben we de incasso voor uw abonnement gepauzeerd tot { $until }; uw abonnement blijft bestaan en vanaf die datum wordt weer afgeschreven.
done-resumed = Op { $date } hebben we de incasso voor uw abonnement hervat; er wordt weer afgeschreven vanaf uw volgende factuurdatum.
