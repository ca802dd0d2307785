package transport

import (
	"syscall"
	"unsafe"
)

// rawChunk bounds one raw system call's transfer, so that a large write
// holds its thread's P for no more than a copy of this size.
const rawChunk = 64 << 10

// readNonblock and writeNonblock are read(2) and write(2) on a descriptor
// in non-blocking mode, made without telling the scheduler (RawSyscall):
// they cannot block, so there is no P to hand off while they run, and
// handing it off anyway (as syscall.Read does once the call takes longer
// than sysmon's 20 µs tick) woke another thread to contend for the same
// cores.
func readNonblock(fd int, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	p = p[:min(len(p), rawChunk)]
	n, _, e := syscall.RawSyscall(syscall.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

func writeNonblock(fd int, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	p = p[:min(len(p), rawChunk)]
	n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}
