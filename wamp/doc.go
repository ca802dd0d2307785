// Package wamp is the vocabulary of the WAMP v2 protocol: message types,
// identifiers, URIs, standard error URIs and the wamp.Error type.
//
// It does no I/O. Serializers live in the codec sub-package, transports in
// package transport, and the router and client build on both.
//
// Every message of the Basic Profile has a type here, as do the messages
// reserved for the Advanced Profile (CHALLENGE, AUTHENTICATE, CANCEL,
// INTERRUPT), so that later features add behaviour rather than vocabulary.
//
// Messages that carry application data embed a Payload. A serializer that
// decodes a message may leave the payload encoded (Payload.Raw) so that a
// router can forward it untouched to peers that share the serializer;
// codec.Resolve turns it into Go values when someone needs them.
package wamp
