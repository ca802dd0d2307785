// Package transport carries WAMP messages between a router and its peers:
// WebSocket (server and client), RawSocket over TCP or a Unix socket
// (server and client), and an in-process pipe. Dial picks the transport
// from the URL's scheme: ws:// and wss://, tcp:// and rs://, unix:.
//
// Every transport gives the same Peer. One goroutine calls Read; any
// goroutine may call Send, which never blocks: messages wait in a bounded
// queue that a writer goroutine, started while the queue is not empty,
// drains, coalescing all queued frames into a single write. A peer whose
// queue is full is a slow consumer and is disconnected (Send returns
// ErrSlowConsumer) so that it cannot stall its senders or grow memory.
//
// A reader that routes what it read to other peers can send through its
// connection's Batch instead: the messages are queued alike, and the
// reader writes them itself before its next read of its socket, one
// non-blocking write per peer, with no goroutine to wake.
//
// A message sent to many peers goes through SendShared, which encodes it at
// most once per serializer, however many peers receive it.
//
// RawSocket (AcceptRawSocket, ServeRawSocket, DialRawSocket) frames each
// message with a 4-byte length prefix after a 4-byte handshake that picks
// the serializer and each side's largest message. Its peers keep the same
// guarantees, keep-alive included (RawSocket PING and PONG frames), and
// refuse in Send a message larger than the other side accepts.
package transport
