package transport

import (
	"sync"
	"syscall"
)

const pollerSupported = true

// poller is the package's epoll instance for parked connections, with one
// goroutine waiting on it. A connection's fd is in both this set and the
// runtime's poller: the runtime's is edge-triggered and serves only a
// goroutine blocked on the connection, which a parked one has none of.
type poller struct {
	once  sync.Once
	epfd  int
	err   error
	mu    sync.Mutex
	next  uint32
	conns map[uint32]*parking // by token, the epoll events' data
}

var thePoller poller

func (p *poller) start() {
	p.epfd, p.err = syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if p.err != nil {
		return
	}
	p.conns = make(map[uint32]*parking)
	go p.loop()
}

// add gives pk a token, 0 if the poller cannot run.
func (p *poller) add(pk *parking) uint32 {
	p.once.Do(p.start)
	if p.err != nil {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		p.next++
		if _, used := p.conns[p.next]; p.next != 0 && !used {
			break
		}
	}
	p.conns[p.next] = pk
	return p.next
}

// forget drops pk once its connection is closed (which took its fd out
// of the epoll set).
func (p *poller) forget(pk *parking) {
	p.mu.Lock()
	delete(p.conns, pk.token)
	p.mu.Unlock()
}

// size is how many connections the poller knows.
func (p *poller) size() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

// register adds pk's fd to the set, disarmed until arm.
func (p *poller) register(pk *parking, fd int) error {
	ev := syscall.EpollEvent{Events: syscall.EPOLLONESHOT, Fd: int32(pk.token)}
	return syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, fd, &ev)
}

// arm asks for one event when pk's connection is readable or hung up;
// the event disarms it until the next park.
func (p *poller) arm(pk *parking, fd int) error {
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT, Fd: int32(pk.token)}
	return syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_MOD, fd, &ev)
}

func (p *poller) loop() {
	var events [128]syscall.EpollEvent
	for {
		n, err := syscall.EpollWait(p.epfd, events[:], -1)
		if err != nil {
			continue // EINTR
		}
		for i := range events[:n] {
			p.mu.Lock()
			pk := p.conns[uint32(events[i].Fd)]
			p.mu.Unlock()
			if pk != nil {
				pk.wake()
			}
		}
	}
}
