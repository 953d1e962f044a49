## Customer follow-up drafts: Japanese. Same message ids and variables as
## ../en/followup.ftl, which documents them. "next-" messages say what the
## team will review and must not say anything was done; "done-" messages are
## used only after Stripe confirmed the action.

greeting-named = { $name } 様
greeting = お客様
sign-off =
    よろしくお願いいたします。
    請求サポートチーム

found-duplicate = ご連絡ありがとうございます。{ $named ->
        [yes] 「{ $plan }」
       *[no] 同じプラン
    }に二重でお申し込みいただいた状態になっていました。これは弊社側で修正すべき問題であり、お客様の責任ではありません。
found-multi-seat = ご利用のアカウントは{ $named ->
        [yes] 「{ $plan }」
       *[no] ご契約中のプラン
    }の { $seats } シート分で請求されています。各シートはチームのメンバー 1 名分で、プランのシート単価で請求されます。誤った請求はありません。シート数の変更が必要な場合は、お気軽にお知らせください。
found-failed-payment = { $named ->
        [yes] 「{ $plan }」
       *[no] ご契約
    }の直近のお支払いが完了しなかったため、サブスクリプションが一時停止される可能性があります。ご利用を継続いただくには、お支払い方法を更新するか、未払いの請求書をお支払いください。
found-self-serve = { $named ->
        [yes] 「{ $plan }」のサブスクリプション
       *[no] サブスクリプション
    }は、お客様ご自身で管理いただけます（解約、プラン変更、カードの更新、請求書のダウンロード）。
found-product-failure = { $named ->
        [yes] 「{ $plan }」
       *[no] 弊社のサービス
    }でご不便をおかけし、誠に申し訳ございません。本来あってはならないことであり、お知らせいただいた内容を製品チームに共有しております。
found-needs-review = { $named ->
        [yes] 「{ $plan }」のご契約
       *[no] ご請求
    }についてご連絡いただき、ありがとうございます。現在アカウントを確認しており、追ってご連絡いたします。
found-not-found = ご連絡ありがとうございます。いただいた情報に一致するサブスクリプションが見つかりませんでした。ご購入時のメールアドレス、または領収書・請求書に記載の番号をご返信いただけますか。

link-portal = 請求管理ポータルにはこちらからログインいただけます: { $url }
link-invoice = 未払いの請求書はこちらからお支払いいただけます: { $url }
link-reply = このメッセージにご返信いただければ、こちらで対応いたします。

next-cancel-extra = 次のステップとして、請求チームが重複しているサブスクリプションの解約を検討いたします。現時点ではまだ何も変更しておりません。対応内容が確定しましたら、改めてご連絡いたします。
next-cancel-extra-refund = 次のステップとして、請求チームが重複しているサブスクリプションの解約と { $amount } の返金を検討いたします。現時点ではまだ何も変更しておりません。対応内容が確定しましたら、改めてご連絡いたします。
next-cancel = 次のステップとして、請求チームがサブスクリプションの解約を検討いたします。現時点ではまだ何も変更しておりません。対応内容が確定しましたら、改めてご連絡いたします。
next-cancel-refund = 次のステップとして、請求チームがサブスクリプションの解約と { $amount } の返金を検討いたします。現時点ではまだ何も変更しておりません。対応内容が確定しましたら、改めてご連絡いたします。
next-refund = 次のステップとして、請求チームが { $amount } の返金を検討いたします。現時点ではまだ何も変更しておりません。対応内容が確定しましたら、改めてご連絡いたします。

done-refunded = { $date } に { $amount } を返金いたしました。明細に反映されるまで 5～10 営業日ほどかかる場合があります。
done-canceled-extra = { $date } に重複していたサブスクリプションを解約いたしました。今後、こちらの分が請求されることはありません。
done-canceled-extra-refunded = { $date } に重複していたサブスクリプションを解約し、{ $amount } を返金いたしました。返金が明細に反映されるまで 5～10 営業日ほどかかる場合があります。
done-canceled = { $date } にサブスクリプションを解約いたしました。今後請求されることはありません。
done-cancel-scheduled = { $date } に、サブスクリプションが現在の請求期間の終了時に終了するよう設定いたしました。今後請求されることはありません。
