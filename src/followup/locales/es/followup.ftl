## Customer follow-up drafts: Spanish. Same message ids and variables as
## ../en/followup.ftl, which documents them. "next-" messages say what the
## team will review and must not say anything was done; "done-" messages are
## used only after Stripe confirmed the action.

greeting-named = Hola, { $name }:
greeting = Hola:
sign-off =
    Saludos cordiales,
    Equipo de facturación

found-duplicate = Gracias por avisarnos. Tiene dos suscripciones a { $named ->
        [yes] { $plan }
       *[no] el mismo plan
    }: el error es nuestro y nos corresponde corregirlo a nosotros, no a usted.
found-multi-seat = Su cuenta se factura por { $seats ->
        [one] una licencia
       *[other] { $seats } licencias
    } de { $named ->
        [yes] { $plan }
       *[no] su plan
    }: cada licencia corresponde a una persona de su equipo y se cobra al precio por licencia del plan. No se ha cobrado nada por error. Si necesita cambiar el número de licencias, con gusto le ayudamos.
found-failed-payment = Su último pago de { $named ->
        [yes] { $plan }
       *[no] su suscripción
    } no se pudo completar, por lo que su suscripción podría pausarse. Para mantenerla activa, actualice su método de pago o pague la factura pendiente.
found-self-serve = Puede gestionar usted mismo { $named ->
        [yes] su suscripción a { $plan }
       *[no] su suscripción
    }: cancelarla, cambiar de plan, actualizar su tarjeta o descargar sus facturas.
found-product-failure = Lamentamos que { $named ->
        [yes] { $plan }
       *[no] nuestro servicio
    } le haya fallado: esto no debería haber ocurrido, y estamos trasladando lo que nos contó a nuestro equipo de producto.
found-needs-review = Gracias por su mensaje sobre { $named ->
        [yes] su suscripción a { $plan }
       *[no] su facturación
    }. Estamos revisando su cuenta y le responderemos en breve.
found-not-found = Gracias por su mensaje. No hemos encontrado ninguna suscripción con los datos que nos dio. ¿Podría responder con la dirección de correo que usó al comprar, o el número que figura en su recibo o factura?

link-portal = Puede acceder a su portal de facturación aquí: { $url }
link-invoice = Puede pagar la factura pendiente aquí: { $url }
link-reply = Basta con que responda a este mensaje y nos encargaremos.

next-cancel-extra = A continuación, nuestro equipo de facturación revisará la cancelación de la suscripción duplicada. Todavía no se ha cambiado nada; le escribiremos de nuevo para confirmar lo que se haya hecho.
next-cancel-extra-refund = A continuación, nuestro equipo de facturación revisará la cancelación de la suscripción duplicada y el reembolso de { $amount }. Todavía no se ha cambiado nada; le escribiremos de nuevo para confirmar lo que se haya hecho.
next-cancel = A continuación, nuestro equipo de facturación revisará la cancelación de su suscripción. Todavía no se ha cambiado nada; le escribiremos de nuevo para confirmar lo que se haya hecho.
next-cancel-refund = A continuación, nuestro equipo de facturación revisará la cancelación de su suscripción y el reembolso de { $amount }. Todavía no se ha cambiado nada; le escribiremos de nuevo para confirmar lo que se haya hecho.
next-refund = A continuación, nuestro equipo de facturación revisará un reembolso de { $amount }. Todavía no se ha cambiado nada; le escribiremos de nuevo para confirmar lo que se haya hecho.
next-pause = A continuación, nuestro equipo de facturación revisará pausar el cobro de tu suscripción. Todavía no se ha cambiado nada; te escribiremos de nuevo para confirmar lo que se haya hecho.
next-resume = A continuación, nuestro equipo de facturación revisará reanudar el cobro de tu suscripción. Todavía no se ha cambiado nada; te escribiremos de nuevo para confirmar lo que se haya hecho.

done-refunded = El { $date } le reembolsamos { $amount }; puede tardar entre 5 y 10 días hábiles en aparecer en su extracto.
done-canceled-extra = El { $date } cancelamos la suscripción duplicada, así que no se le volverá a cobrar por ella.
done-canceled-extra-refunded = El { $date } cancelamos la suscripción duplicada y le reembolsamos { $amount }; el reembolso puede tardar entre 5 y 10 días hábiles en aparecer en su extracto.
done-canceled = El { $date } cancelamos su suscripción, así que no se le volverá a cobrar.
done-cancel-scheduled = El { $date } programamos el fin de su suscripción al cierre del periodo de facturación actual, así que no se le volverá a cobrar.
done-paused = El { $date } pausamos el cobro de tu suscripción; la suscripción se mantiene y no se te cobrará hasta que se reanude.
done-paused-until = El { $date } pausamos el cobro de tu suscripción hasta el { $until }; la suscripción se mantiene y los cobros se reanudan en esa fecha.
done-resumed = El { $date } reanudamos el cobro de tu suscripción; los cargos continúan a partir de tu próxima fecha de facturación.
