package sms

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Config is the plugin's configuration, also its settings
// (--sms-backend, MYAPP_SMS_KANNEL_URL...). Each field's default applies
// when it is zero.
type Config struct {
	// Backend is "kannel" or "twilio". Required.
	Backend string `flag:"backend" json:"backend" yaml:"backend" help:"kannel or twilio"`
	// From is the sender of the texts sent (a number or a short code).
	From string `flag:"from" json:"from" yaml:"from" help:"sender of the texts sent"`
	// PublicURL is where the SMS gateway reaches the app
	// ("https://shop.example.org"): the base of Kannel's dlr-url and of
	// the URL Twilio signs. Default: the URL of each request as the app
	// received it.
	PublicURL string `flag:"public-url" json:"public-url" yaml:"public-url" help:"base URL where the gateway reaches the app"`

	// KannelURL is the sendsms URL of Kannel's smsbox
	// ("http://127.0.0.1:13013/cgi-bin/sendsms").
	KannelURL      string `flag:"kannel-url" json:"kannel-url" yaml:"kannel-url" help:"Kannel's sendsms URL"`
	KannelUser     string `flag:"kannel-user" json:"kannel-user" yaml:"kannel-user" help:"Kannel sendsms-user"`
	KannelPassword string `flag:"kannel-password" json:"kannel-password" yaml:"kannel-password" help:"its password"`
	// KannelDLR asks Kannel for delivery reports (dlr-mask 31), sent to
	// PublicURL/NS/kannel/dlr.
	KannelDLR bool `flag:"kannel-dlr" json:"kannel-dlr" yaml:"kannel-dlr" help:"ask Kannel for delivery reports"`

	// TwilioURL is the provider's API base. Default
	// https://api.twilio.com.
	TwilioURL   string `flag:"twilio-url" json:"twilio-url" yaml:"twilio-url" help:"the provider's API base URL"`
	TwilioSID   string `flag:"twilio-sid" json:"twilio-sid" yaml:"twilio-sid" help:"account SID"`
	TwilioToken string `flag:"twilio-token" json:"twilio-token" yaml:"twilio-token" help:"auth token: logs in, and signs the webhooks"`

	// Timeout bounds a request to the gateway. Default 30s.
	Timeout time.Duration `flag:"timeout" json:"timeout" yaml:"timeout" help:"bound on a request to the gateway"`
	// SendRetries is how many times a text is tried again before it
	// goes to the dead letters. Default 100.
	SendRetries int `flag:"send-retries" json:"send-retries" yaml:"send-retries" help:"tries of a text before the dead letters"`
	// SendBackoff and SendMaxBackoff are the first and the longest pause
	// between tries. Defaults 1s and 1m. Set in code: they are the
	// queue's, declared by Plug.
	SendBackoff    time.Duration `flag:"-" json:"-" yaml:"-"`
	SendMaxBackoff time.Duration `flag:"-" json:"-" yaml:"-"`
}

func (c Config) withDefaults() Config {
	if c.TwilioURL == "" {
		c.TwilioURL = "https://api.twilio.com"
	}
	if c.Timeout == 0 {
		c.Timeout = 30 * time.Second
	}
	if c.SendRetries == 0 {
		c.SendRetries = 100
	}
	if c.SendBackoff == 0 {
		c.SendBackoff = time.Second
	}
	if c.SendMaxBackoff == 0 {
		c.SendMaxBackoff = time.Minute
	}
	return c
}

// Validate reports what is wrong with the configuration.
func (c *Config) Validate() error {
	var errs []error
	isURL := func(name, v string) {
		if v == "" {
			return
		}
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("sms: %s %q: want an http:// or https:// URL", name, v))
		}
	}
	isURL("public-url", c.PublicURL)
	isURL("kannel-url", c.KannelURL)
	isURL("twilio-url", c.TwilioURL)
	switch strings.ToLower(c.Backend) {
	case "kannel":
		if c.KannelURL == "" {
			errs = append(errs, errors.New("sms: the kannel backend needs kannel-url"))
		}
		if c.KannelDLR && c.PublicURL == "" {
			errs = append(errs, errors.New("sms: kannel-dlr needs public-url, where Kannel sends the reports"))
		}
	case "twilio":
		if c.TwilioSID == "" || c.TwilioToken == "" {
			errs = append(errs, errors.New("sms: the twilio backend needs twilio-sid and twilio-token"))
		}
	default:
		errs = append(errs, fmt.Errorf("sms: backend %q: want kannel or twilio", c.Backend))
	}
	if c.Timeout < 0 || c.SendRetries < 0 {
		errs = append(errs, errors.New("sms: timeout and send-retries: want 0 (the default) or more"))
	}
	return errors.Join(errs...)
}
