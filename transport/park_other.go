//go:build !linux

package transport

import "errors"

const pollerSupported = false

type poller struct{}

var thePoller poller

var errNoPoller = errors.New("transport: no poller for parked connections on this system")

func (*poller) add(*parking) uint32          { return 0 }
func (*poller) size() int                    { return 0 }
func (*poller) forget(*parking)              {}
func (*poller) register(*parking, int) error { return errNoPoller }
func (*poller) arm(*parking, int) error      { return errNoPoller }
