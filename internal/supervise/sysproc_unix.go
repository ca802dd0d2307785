//go:build unix && !linux

package supervise

import "syscall"

// Without Pdeathsig, a killed supervisor leaves its children running.
func sysProcAttr(c *credential) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Setpgid: true}
	if c != nil {
		a.Credential = c.sys
	}
	return a
}
