// Package codec holds WAMP's serializers: JSON (wamp.2.json), MessagePack
// (wamp.2.msgpack) and CBOR (wamp.2.cbor).
//
// Decode reads a message and leaves its application payload encoded
// (wamp.Payload.Raw), so that a router can forward args and kwargs byte for
// byte between peers that share a serializer. Values and Resolve decode a
// payload into Go values when someone needs to look at them.
//
// Decoded values are normalised to the same Go types by every codec: nil,
// bool, int64 (uint64 only above math.MaxInt64), float64, string, []byte,
// wamp.List and wamp.Dict. JSON follows the specification's convention for
// binary data: a string whose first character is U+0000 holds the
// base64 encoding of the bytes.
package codec
