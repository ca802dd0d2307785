package transport

// rawChunk bounds one raw system call's transfer, so that a large write
// holds its thread's P for no more than a copy of this size.
const rawChunk = 64 << 10

// readNonblock and writeNonblock (rawsys_norace.go) are read(2) and
// write(2) on a descriptor in non-blocking mode, made without telling the
// scheduler (RawSyscall): they cannot block, so there is no P to hand off
// while they run, and handing it off anyway (as syscall.Read does once
// the call takes longer than sysmon's 20 µs tick) woke another thread to
// contend for the same cores.
//
// Under the race detector they are syscall.Read and syscall.Write
// (rawsys_race.go): those tell the detector that what one goroutine wrote
// to a socket happens before what another reads from it, and without that
// it would report races between a test and the router it talks to.
