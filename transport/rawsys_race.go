//go:build race

package transport

import "syscall"

func readNonblock(fd int, p []byte) (int, error) {
	n, err := syscall.Read(fd, p[:min(len(p), rawChunk)])
	if err != nil {
		return 0, err
	}
	return n, nil
}

func writeNonblock(fd int, p []byte) (int, error) {
	n, err := syscall.Write(fd, p[:min(len(p), rawChunk)])
	if err != nil {
		return 0, err
	}
	return n, nil
}
