## Customer follow-up drafts: French. Same message ids and variables as
## ../en/followup.ftl, which documents them. "next-" messages say what the
## team will review and must not say anything was done; "done-" messages are
## used only after Stripe confirmed the action.

greeting-named = Bonjour { $name },
greeting = Bonjour,
sign-off =
    Bien cordialement,
    L'équipe facturation

found-duplicate = Merci de nous avoir prévenus. Vous avez été abonné deux fois à { $named ->
        [yes] { $plan }
       *[no] la même offre
    } : c'est une erreur de notre part, et c'est à nous de la corriger, pas à vous.
found-multi-seat = Votre compte est facturé pour { $seats ->
        [one] une licence
       *[other] { $seats } licences
    } sur { $named ->
        [yes] { $plan }
       *[no] votre offre
    } : chaque licence correspond à une personne de votre équipe, facturée au prix par licence de l'offre. Rien n'a été facturé par erreur. Si le nombre de licences doit changer, nous vous aiderons volontiers.
found-failed-payment = Votre dernier paiement pour { $named ->
        [yes] { $plan }
       *[no] votre abonnement
    } n'a pas abouti, votre abonnement risque donc d'être suspendu. Pour qu'il reste actif, veuillez mettre à jour votre moyen de paiement ou régler la facture en attente.
found-self-serve = Vous pouvez gérer vous-même { $named ->
        [yes] votre abonnement { $plan }
       *[no] votre abonnement
    } : le résilier, changer d'offre, mettre à jour votre carte ou télécharger vos factures.
found-product-failure = Nous sommes désolés que { $named ->
        [yes] { $plan }
       *[no] notre service
    } vous ait fait défaut : cela n'aurait pas dû arriver, et nous transmettons ce que vous nous avez signalé à notre équipe produit.
found-needs-review = Merci pour votre message au sujet de { $named ->
        [yes] votre abonnement { $plan }
       *[no] votre facturation
    }. Nous examinons votre compte et revenons vers vous très vite.
found-not-found = Merci pour votre message. Nous n'avons trouvé aucun abonnement correspondant aux informations fournies. Pourriez-vous nous répondre en indiquant l'adresse e-mail utilisée lors de l'achat, ou le numéro figurant sur votre reçu ou votre facture ?

link-portal = Vous pouvez vous connecter à votre espace de facturation ici : { $url }
link-invoice = Vous pouvez régler la facture en attente ici : { $url }
link-reply = Il vous suffit de répondre à ce message et notre équipe s'en occupe.

next-cancel-extra = Prochaine étape : notre équipe facturation va examiner la résiliation de l'abonnement en double. Rien n'a encore été modifié ; nous vous écrirons à nouveau pour confirmer ce qui a été fait.
next-cancel-extra-refund = Prochaine étape : notre équipe facturation va examiner la résiliation de l'abonnement en double et le remboursement de { $amount }. Rien n'a encore été modifié ; nous vous écrirons à nouveau pour confirmer ce qui a été fait.
next-cancel = Prochaine étape : notre équipe facturation va examiner la résiliation de votre abonnement. Rien n'a encore été modifié ; nous vous écrirons à nouveau pour confirmer ce qui a été fait.
next-cancel-refund = Prochaine étape : notre équipe facturation va examiner la résiliation de votre abonnement et le remboursement de { $amount }. Rien n'a encore été modifié ; nous vous écrirons à nouveau pour confirmer ce qui a été fait.
next-refund = Prochaine étape : notre équipe facturation va examiner un remboursement de { $amount }. Rien n'a encore été modifié ; nous vous écrirons à nouveau pour confirmer ce qui a été fait.
next-pause = Ensuite, notre équipe de facturation étudiera la suspension des prélèvements de votre abonnement. Rien n'a encore été modifié ; nous vous écrirons à nouveau pour confirmer ce qui aura été fait.
next-resume = Ensuite, notre équipe de facturation étudiera la reprise des prélèvements de votre abonnement. Rien n'a encore été modifié ; nous vous écrirons à nouveau pour confirmer ce qui aura été fait.

done-refunded = Le { $date }, nous vous avons remboursé { $amount } ; le montant peut mettre 5 à 10 jours ouvrés à apparaître sur votre relevé.
done-canceled-extra = Le { $date }, nous avons résilié l'abonnement en double : il ne vous sera plus facturé.
done-canceled-extra-refunded = Le { $date }, nous avons résilié l'abonnement en double et vous avons remboursé { $amount } ; le remboursement peut mettre 5 à 10 jours ouvrés à apparaître sur votre relevé.
done-canceled = Le { $date }, nous avons résilié votre abonnement : rien ne vous sera plus facturé.
done-cancel-scheduled = Le { $date }, nous avons programmé la fin de votre abonnement à la clôture de la période de facturation en cours : rien ne vous sera plus facturé ensuite.
done-paused = Le { $date }, nous avons suspendu les prélèvements de votre abonnement ; l'abonnement est conservé et rien ne vous sera prélevé avant sa reprise.
done-paused-until = Le { $date }, nous avons suspendu les prélèvements de votre abonnement jusqu'au { $until } ; l'abonnement est conservé et les prélèvements reprennent à cette date.
done-resumed = Le { $date }, nous avons repris les prélèvements de votre abonnement ; ils continuent à partir de votre prochaine date de facturation.
