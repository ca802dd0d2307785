//go:build !race

package transport

import (
	"syscall"
	"unsafe"
)

func readNonblock(fd int, p []byte) (int, error)  { return rawIO(syscall.SYS_READ, fd, p) }
func writeNonblock(fd int, p []byte) (int, error) { return rawIO(syscall.SYS_WRITE, fd, p) }

// rawIO is read(2) or write(2), trap, of at most rawChunk bytes of p.
func rawIO(trap uintptr, fd int, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	p = p[:min(len(p), rawChunk)]
	n, _, e := syscall.RawSyscall(trap, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}
