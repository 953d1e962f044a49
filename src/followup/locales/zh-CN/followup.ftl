## Customer follow-up drafts: Simplified Chinese. Same message ids and variables as
## ../en/followup.ftl, which documents them. "next-" messages say what the
## team will review and must not say anything was done; "done-" messages are
## used only after Stripe confirmed the action.

greeting-named = { $name }，您好：
greeting = 您好：
sign-off =
    祝好，
    账单支持团队

found-duplicate = 感谢您告知我们。您{ $named ->
        [yes] 订阅的“{ $plan }”
       *[no] 的订阅
    }被重复开通了两次，这是我们的问题，应由我们来解决，而不是您。
found-multi-seat = 您的账户按{ $named ->
        [yes] “{ $plan }”的
       *[no] 当前方案的
    } { $seats } 个席位计费：每个席位对应团队中的一位成员，按方案的每席位价格收费。本次扣费没有错误。如需调整席位数量，我们很乐意协助。
found-failed-payment = 您最近一次{ $named ->
        [yes] “{ $plan }”的
       *[no] 订阅的
    }付款未能成功，订阅可能会被暂停。为保证服务不中断，请更新您的付款方式或支付未结发票。
found-self-serve = 您可以自行管理{ $named ->
        [yes] “{ $plan }”订阅
       *[no] 订阅
    }：取消、更改方案、更新银行卡或下载发票。
found-product-failure = 非常抱歉{ $named ->
        [yes] “{ $plan }”
       *[no] 我们的服务
    }让您失望了。这本不应发生，我们正在把您反馈的情况转告产品团队。
found-needs-review = 感谢您就{ $named ->
        [yes] “{ $plan }”订阅
       *[no] 账单问题
    }联系我们。我们正在核查您的账户，会尽快回复您。
found-not-found = 感谢您的来信。我们未能根据您提供的信息找到相应的订阅。请回复您下单时使用的邮箱地址，或收据/发票上的编号。

link-portal = 您可以通过以下链接登录账单管理页面：{ $url }
link-invoice = 您可以通过以下链接支付未结发票：{ $url }
link-reply = 请直接回复本邮件，我们会为您处理。

next-cancel-extra = 接下来，我们的账单团队会审核是否取消多余的订阅。目前尚未做任何更改；有了结果后我们会再次写信告知。
next-cancel-extra-refund = 接下来，我们的账单团队会审核是否取消多余的订阅并退款 { $amount }。目前尚未做任何更改；有了结果后我们会再次写信告知。
next-cancel = 接下来，我们的账单团队会审核是否取消您的订阅。目前尚未做任何更改；有了结果后我们会再次写信告知。
next-cancel-refund = 接下来，我们的账单团队会审核是否取消您的订阅并退款 { $amount }。目前尚未做任何更改；有了结果后我们会再次写信告知。
next-refund = 接下来，我们的账单团队会审核是否退款 { $amount }。目前尚未做任何更改；有了结果后我们会再次写信告知。
next-pause = 接下来，我们的账务团队会审核暂停您订阅的扣款。目前尚未做任何更改；处理完成后我们会再次写信确认。
next-resume = 接下来，我们的账务团队会审核恢复您订阅的扣款。目前尚未做任何更改；处理完成后我们会再次写信确认。

done-refunded = 我们已于 { $date } 为您退款 { $amount }，款项可能需要 5 至 10 个工作日到账。
done-canceled-extra = 我们已于 { $date } 取消多余的订阅，今后不会再因此扣费。
done-canceled-extra-refunded = 我们已于 { $date } 取消多余的订阅，并为您退款 { $amount }，款项可能需要 5 至 10 个工作日到账。
done-canceled = 我们已于 { $date } 取消您的订阅，今后不会再扣费。
done-cancel-scheduled = 我们已于 { $date } 将您的订阅设置为在当前计费周期结束时终止，今后不会再扣费。
done-paused = 我们已于 { $date } 暂停您订阅的扣款；订阅保持不变，恢复之前不会向您收费。
done-paused-until = 我们已于 { $date } 暂停您订阅的扣款，直至 { $until }；订阅保持不变，届时将恢复扣款。
done-resumed = 我们已于 { $date } 恢复您订阅的扣款；将从您的下一个账单日起继续收费。
