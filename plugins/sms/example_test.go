package sms_test

import (
	"fmt"
	"net/url"

	"github.com/junction-run/junction/plugins/sms"
)

// A Twilio-style webhook is accepted only with this signature, computed
// with the account's token over the URL the provider called and the
// form it posted: here the example of Twilio's documentation.
func ExampleTwilioSignature() {
	form := url.Values{
		"CallSid": {"CA1234567890ABCDE"}, "Caller": {"+12349013030"}, "Digits": {"1234"},
		"From": {"+12349013030"}, "To": {"+18005551212"},
	}
	fmt.Println(sms.TwilioSignature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", form))
	// Output: 0/KCTR6DLpKmkAf8muzZqo1nDgQ=
}
