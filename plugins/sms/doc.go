// Package sms is the SMS plugin of Junction apps: texts received reach
// handlers chosen by a pattern, texts are sent through a durable queue,
// over one of two backends behind the same API:
//
//   - Kannel, the open source SMS gateway: sending with its HTTP
//     sendsms interface, receiving through an sms-service whose get-url
//     is the app's route /NS/kannel/incoming, delivery reports through
//     /NS/kannel/dlr;
//
//   - an HTTP provider in Twilio's style: sending with its REST API,
//     receiving on the webhook /NS/twilio/incoming, whose
//     X-Twilio-Signature is checked, delivery reports on
//     /NS/twilio/status.
//
//     texts := sms.New(sms.Config{Backend: "kannel", KannelURL: "http://127.0.0.1:13013/cgi-bin/sendsms",
//     KannelUser: "app", KannelPassword: pw, From: "12345"})
//     texts.Receive(`^LOVE (\w+) (\w+)$`, func(ctx context.Context, m *sms.Msg) error {
//     _, err := texts.Send(ctx, "noted: "+m.Groups[1]+" loves "+m.Groups[2], m.From)
//     return err
//     })
//     app.Plug(texts) // namespace "sms"
//
// Its WAMP face: every text received is published on NS.received (with
// the groups of the first pattern that matched), delivery reports on
// NS.delivery, and NS.send(text, [to...]) sends.
package sms
