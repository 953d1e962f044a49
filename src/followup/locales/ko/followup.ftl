## Customer follow-up drafts: Korean. Same message ids and variables as
## ../en/followup.ftl, which documents them. "next-" messages say what the
## team will review and must not say anything was done; "done-" messages are
## used only after Stripe confirmed the action.

greeting-named = { $name } 님, 안녕하세요.
greeting = 안녕하세요.
sign-off =
    감사합니다.
    결제 지원팀

found-duplicate = 알려 주셔서 감사합니다. { $named ->
        [yes] { $plan }
       *[no] 같은 요금제
    }에 두 번 가입된 상태였습니다. 이는 고객님이 아니라 저희가 바로잡아야 할 문제입니다.
found-multi-seat = 고객님의 계정은 { $named ->
        [yes] { $plan }
       *[no] 현재 요금제
    } 기준 { $seats }개 라이선스로 청구되고 있습니다. 라이선스 하나는 팀원 한 명에 해당하며, 요금제의 라이선스당 가격으로 청구됩니다. 잘못 청구된 금액은 없습니다. 라이선스 수를 변경해야 한다면 기꺼이 도와드리겠습니다.
found-failed-payment = { $named ->
        [yes] { $plan }
       *[no] 구독
    }의 최근 결제가 완료되지 않아 구독이 일시 중지될 수 있습니다. 계속 이용하시려면 결제 수단을 업데이트하시거나 미결제 청구서를 결제해 주세요.
found-self-serve = { $named ->
        [yes] { $plan } 구독
       *[no] 구독
    }은 직접 관리하실 수 있습니다: 해지, 요금제 변경, 카드 업데이트, 청구서 다운로드.
found-product-failure = { $named ->
        [yes] { $plan }
       *[no] 저희 서비스
    } 이용에 불편을 드려 정말 죄송합니다. 있어서는 안 될 일이었으며, 말씀해 주신 내용을 제품팀에 전달하고 있습니다.
found-needs-review = { $named ->
        [yes] { $plan } 구독
       *[no] 결제
    }에 관해 문의해 주셔서 감사합니다. 현재 계정을 확인하고 있으며 곧 다시 연락드리겠습니다.
found-not-found = 문의해 주셔서 감사합니다. 알려 주신 정보로는 구독을 찾지 못했습니다. 구매 시 사용하신 이메일 주소나 영수증 또는 청구서에 적힌 번호를 회신해 주시겠어요?

link-portal = 여기에서 결제 관리 포털에 로그인하실 수 있습니다: { $url }
link-invoice = 여기에서 미결제 청구서를 결제하실 수 있습니다: { $url }
link-reply = 이 메시지에 회신해 주시면 저희가 처리해 드리겠습니다.

next-cancel-extra = 다음 단계로 결제팀이 중복된 구독의 해지를 검토합니다. 아직 변경된 사항은 없으며, 처리 결과는 다시 연락드려 알려 드리겠습니다.
next-cancel-extra-refund = 다음 단계로 결제팀이 중복된 구독의 해지와 { $amount } 환불을 검토합니다. 아직 변경된 사항은 없으며, 처리 결과는 다시 연락드려 알려 드리겠습니다.
next-cancel = 다음 단계로 결제팀이 구독 해지를 검토합니다. 아직 변경된 사항은 없으며, 처리 결과는 다시 연락드려 알려 드리겠습니다.
next-cancel-refund = 다음 단계로 결제팀이 구독 해지와 { $amount } 환불을 검토합니다. 아직 변경된 사항은 없으며, 처리 결과는 다시 연락드려 알려 드리겠습니다.
next-refund = 다음 단계로 결제팀이 { $amount } 환불을 검토합니다. 아직 변경된 사항은 없으며, 처리 결과는 다시 연락드려 알려 드리겠습니다.
next-pause = 다음으로 결제팀이 구독의 결제 수금 일시 중지를 검토합니다. 아직 변경된 사항은 없으며, 처리되면 다시 연락드리겠습니다.
next-resume = 다음으로 결제팀이 구독의 결제 수금 재개를 검토합니다. 아직 변경된 사항은 없으며, 처리되면 다시 연락드리겠습니다.

done-refunded = { $date }에 { $amount } 환불을 완료했습니다. 명세서에 반영되기까지 영업일 기준 5~10일이 걸릴 수 있습니다.
done-canceled-extra = { $date }에 중복된 구독을 해지했습니다. 앞으로 해당 구독으로는 요금이 청구되지 않습니다.
done-canceled-extra-refunded = { $date }에 중복된 구독을 해지하고 { $amount } 환불을 완료했습니다. 환불이 명세서에 반영되기까지 영업일 기준 5~10일이 걸릴 수 있습니다.
done-canceled = { $date }에 구독을 해지했습니다. 앞으로 요금이 청구되지 않습니다.
done-cancel-scheduled = { $date }에 현재 결제 기간이 끝나면 구독이 종료되도록 설정했습니다. 이후에는 요금이 청구되지 않습니다.
done-paused = { $date }에 구독의 결제 수금을 일시 중지했습니다. 구독은 그대로 유지되며, 재개될 때까지 청구되지 않습니다.
done-paused-until = { $date }에 구독의 결제 수금을 { $until }까지 일시 중지했습니다. 구독은 그대로 유지되며, 그날부터 청구가 재개됩니다.
done-resumed = { $date }에 구독의 결제 수금을 재개했습니다. 다음 결제일부터 청구가 이어집니다.
