## Customer follow-up drafts: Brazilian Portuguese. Same message ids and variables as
## ../en/followup.ftl, which documents them. "next-" messages say what the
## team will review and must not say anything was done; "done-" messages are
## used only after Stripe confirmed the action.

greeting-named = Olá, { $name },
greeting = Olá,
sign-off =
    Atenciosamente,
    Equipe de cobrança

found-duplicate = Obrigado por nos avisar. Você foi cadastrado duas vezes { $named ->
        [yes] no plano { $plan }
       *[no] no mesmo plano
    } — o erro é nosso, e cabe a nós corrigi-lo, não a você.
found-multi-seat = Sua conta é cobrada por { $seats ->
        [one] uma licença
       *[other] { $seats } licenças
    } { $named ->
        [yes] no plano { $plan }
       *[no] no seu plano
    }: cada licença corresponde a uma pessoa da sua equipe, cobrada pelo preço por licença do plano. Nada foi cobrado por engano. Se o número de licenças precisar mudar, teremos prazer em ajudar.
found-failed-payment = Seu último pagamento { $named ->
        [yes] do plano { $plan }
       *[no] da assinatura
    } não foi aprovado, então sua assinatura corre o risco de ser pausada. Para mantê-la ativa, atualize sua forma de pagamento ou pague a fatura em aberto.
found-self-serve = Você mesmo pode gerenciar { $named ->
        [yes] sua assinatura do plano { $plan }
       *[no] sua assinatura
    }: cancelar, mudar de plano, atualizar seu cartão ou baixar faturas.
found-product-failure = Sentimos muito que { $named ->
        [yes] o { $plan }
       *[no] nosso serviço
    } tenha falhado com você: isso não deveria ter acontecido, e estamos repassando o que você nos contou para a nossa equipe de produto.
found-needs-review = Obrigado pela sua mensagem sobre { $named ->
        [yes] sua assinatura do plano { $plan }
       *[no] sua cobrança
    }. Estamos analisando sua conta e retornaremos em breve.
found-not-found = Obrigado pela sua mensagem. Não encontramos nenhuma assinatura com os dados informados. Você poderia responder com o e-mail usado na compra, ou o número que aparece no seu recibo ou fatura?

link-portal = Você pode entrar no seu portal de cobrança aqui: { $url }
link-invoice = Você pode pagar a fatura em aberto aqui: { $url }
link-reply = É só responder a esta mensagem que cuidamos disso.

next-cancel-extra = Próximo passo: nossa equipe de cobrança vai analisar o cancelamento da assinatura duplicada. Nada foi alterado ainda; escreveremos novamente para confirmar o que foi feito.
next-cancel-extra-refund = Próximo passo: nossa equipe de cobrança vai analisar o cancelamento da assinatura duplicada e o reembolso de { $amount }. Nada foi alterado ainda; escreveremos novamente para confirmar o que foi feito.
next-cancel = Próximo passo: nossa equipe de cobrança vai analisar o cancelamento da sua assinatura. Nada foi alterado ainda; escreveremos novamente para confirmar o que foi feito.
next-cancel-refund = Próximo passo: nossa equipe de cobrança vai analisar o cancelamento da sua assinatura e o reembolso de { $amount }. Nada foi alterado ainda; escreveremos novamente para confirmar o que foi feito.
next-refund = Próximo passo: nossa equipe de cobrança vai analisar um reembolso de { $amount }. Nada foi alterado ainda; escreveremos novamente para confirmar o que foi feito.
next-pause = Em seguida, nossa equipe de cobrança vai analisar a pausa das cobranças da sua assinatura. Nada foi alterado ainda; escreveremos novamente para confirmar o que foi feito.
next-resume = Em seguida, nossa equipe de cobrança vai analisar a retomada das cobranças da sua assinatura. Nada foi alterado ainda; escreveremos novamente para confirmar o que foi feito.

done-refunded = Em { $date }, reembolsamos { $amount }; o valor pode levar de 5 a 10 dias úteis para aparecer na sua fatura do cartão.
done-canceled-extra = Em { $date }, cancelamos a assinatura duplicada, então você não será mais cobrado por ela.
done-canceled-extra-refunded = Em { $date }, cancelamos a assinatura duplicada e reembolsamos { $amount }; o reembolso pode levar de 5 a 10 dias úteis para aparecer na sua fatura do cartão.
done-canceled = Em { $date }, cancelamos sua assinatura, então você não será mais cobrado.
done-cancel-scheduled = Em { $date }, programamos o fim da sua assinatura para o encerramento do período de cobrança atual, então você não será mais cobrado.
done-paused = Em { $date } pausamos as cobranças da sua assinatura; a assinatura continua ativa e nada será cobrado até que as cobranças sejam retomadas.
done-paused-until = Em { $date } pausamos as cobranças da sua assinatura até { $until }; a assinatura continua ativa e as cobranças voltam nessa data.
done-resumed = Em { $date } retomamos as cobranças da sua assinatura; elas continuam a partir da sua próxima data de cobrança.
