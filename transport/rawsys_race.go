//go:build race

package transport

import "syscall"

func readNonblock(fd int, p []byte) (int, error) {
	return nonNegative(syscall.Read(fd, p[:min(len(p), rawChunk)]))
}

func writeNonblock(fd int, p []byte) (int, error) {
	return nonNegative(syscall.Write(fd, p[:min(len(p), rawChunk)]))
}

// nonNegative returns 0 with an error, as RawSyscall's callers get it,
// where syscall.Read and Write return -1.
func nonNegative(n int, err error) (int, error) {
	if err != nil {
		return 0, err
	}
	return n, nil
}
