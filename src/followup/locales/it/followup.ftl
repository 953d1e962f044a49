## Customer follow-up drafts: Italian. Same message ids and variables as
## ../en/followup.ftl, which documents them. "next-" messages say what the
## team will review and must not say anything was done; "done-" messages are
## used only after Stripe confirmed the action.

greeting-named = Gentile { $name },
greeting = Buongiorno,
sign-off =
    Cordiali saluti,
    Assistenza fatturazione

found-duplicate = Grazie per la segnalazione. Risulta abbonato due volte { $named ->
        [yes] a { $plan }
       *[no] allo stesso piano
    }: è un nostro errore, e spetta a noi correggerlo, non a lei.
found-multi-seat = Il suo account viene fatturato per { $seats ->
        [one] una licenza
       *[other] { $seats } licenze
    } { $named ->
        [yes] del piano { $plan }
       *[no] del suo piano
    }: ogni licenza corrisponde a una persona del suo team, al prezzo per licenza del piano. Non è stato addebitato nulla per errore. Se il numero di licenze deve cambiare, saremo lieti di aiutarla.
found-failed-payment = Il suo ultimo pagamento { $named ->
        [yes] per { $plan }
       *[no] per l'abbonamento
    } non è andato a buon fine, quindi l'abbonamento rischia di essere sospeso. Per mantenerlo attivo, aggiorni il metodo di pagamento o paghi la fattura in sospeso.
found-self-serve = Può gestire in autonomia { $named ->
        [yes] il suo abbonamento { $plan }
       *[no] il suo abbonamento
    }: disdirlo, cambiare piano, aggiornare la carta o scaricare le fatture.
found-product-failure = Ci dispiace che { $named ->
        [yes] { $plan }
       *[no] il nostro servizio
    } l'abbia delusa: non sarebbe dovuto succedere, e stiamo riferendo quanto ci ha segnalato al nostro team di prodotto.
found-needs-review = Grazie per il suo messaggio riguardo { $named ->
        [yes] al suo abbonamento { $plan }
       *[no] alla sua fatturazione
    }. Stiamo verificando il suo account e le risponderemo a breve.
found-not-found = Grazie per il suo messaggio. Non abbiamo trovato alcun abbonamento con i dati indicati. Potrebbe rispondere con l'indirizzo email usato per l'acquisto, o il numero riportato sulla ricevuta o sulla fattura?

link-portal = Può accedere al portale di fatturazione qui: { $url }
link-invoice = Può pagare la fattura in sospeso qui: { $url }
link-reply = Basta rispondere a questo messaggio e ce ne occuperemo noi.

next-cancel-extra = Come prossimo passo, il nostro team di fatturazione valuterà la disdetta dell'abbonamento doppio. Per ora non è stato modificato nulla; le scriveremo di nuovo per confermare cosa è stato fatto.
next-cancel-extra-refund = Come prossimo passo, il nostro team di fatturazione valuterà la disdetta dell'abbonamento doppio e il rimborso di { $amount }. Per ora non è stato modificato nulla; le scriveremo di nuovo per confermare cosa è stato fatto.
next-cancel = Come prossimo passo, il nostro team di fatturazione valuterà la disdetta del suo abbonamento. Per ora non è stato modificato nulla; le scriveremo di nuovo per confermare cosa è stato fatto.
next-cancel-refund = Come prossimo passo, il nostro team di fatturazione valuterà la disdetta del suo abbonamento e il rimborso di { $amount }. Per ora non è stato modificato nulla; le scriveremo di nuovo per confermare cosa è stato fatto.
next-refund = Come prossimo passo, il nostro team di fatturazione valuterà un rimborso di { $amount }. Per ora non è stato modificato nulla; le scriveremo di nuovo per confermare cosa è stato fatto.
next-pause = Il nostro team di fatturazione valuterà ora la sospensione degli addebiti del tuo abbonamento. Per ora non è stato modificato nulla; ti scriveremo di nuovo per confermare quanto fatto.
next-resume = Il nostro team di fatturazione valuterà ora la ripresa degli addebiti del tuo abbonamento. Per ora non è stato modificato nulla; ti scriveremo di nuovo per confermare quanto fatto.

done-refunded = Il { $date } le abbiamo rimborsato { $amount }; l'importo può impiegare da 5 a 10 giorni lavorativi per comparire sull'estratto conto.
done-canceled-extra = Il { $date } abbiamo disdetto l'abbonamento doppio, quindi non le verrà più addebitato.
done-canceled-extra-refunded = Il { $date } abbiamo disdetto l'abbonamento doppio e le abbiamo rimborsato { $amount }; il rimborso può impiegare da 5 a 10 giorni lavorativi per comparire sull'estratto conto.
done-canceled = Il { $date } abbiamo disdetto il suo abbonamento, quindi non le verrà più addebitato nulla.
done-cancel-scheduled = Il { $date } abbiamo impostato la fine del suo abbonamento alla chiusura del periodo di fatturazione in corso, quindi non le verrà più addebitato nulla.
done-paused = Il { $date } abbiamo sospeso gli addebiti del tuo abbonamento; l'abbonamento resta attivo e non ti verrà addebitato nulla finché non riprenderanno.
done-paused-until = Il { $date } abbiamo sospeso gli addebiti del tuo abbonamento fino al { $until }; l'abbonamento resta attivo e gli addebiti riprendono da quella data.
done-resumed = Il { $date } abbiamo ripreso gli addebiti del tuo abbonamento; proseguono dalla prossima data di fatturazione.
