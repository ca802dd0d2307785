package supervise

import "syscall"

func sysProcAttr(c *credential) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if c != nil {
		a.Credential = c.sys
	}
	return a
}
