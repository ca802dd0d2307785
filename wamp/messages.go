package wamp

// Hello is sent by a client to open a session: [HELLO, Realm, Details].
type Hello struct {
	Realm   URI
	Details Dict
}

// Welcome is the router's answer to a successful Hello:
// [WELCOME, Session, Details].
type Welcome struct {
	Session ID
	Details Dict
}

// Abort ends a session that is being opened, or one that broke the
// protocol: [ABORT, Details, Reason].
type Abort struct {
	Details Dict
	Reason  URI
}

// Challenge asks a client to authenticate: [CHALLENGE, AuthMethod, Extra].
type Challenge struct {
	AuthMethod string
	Extra      Dict
}

// Authenticate answers a Challenge: [AUTHENTICATE, Signature, Extra].
type Authenticate struct {
	Signature string
	Extra     Dict
}

// Goodbye closes an established session, in either direction:
// [GOODBYE, Details, Reason].
type Goodbye struct {
	Details Dict
	Reason  URI
}

// ErrorMessage answers a request that failed (the ERROR message):
// [ERROR, RequestType, Request, Details, Error, Args|list, Kwargs|dict].
type ErrorMessage struct {
	RequestType Type
	Request     ID
	Details     Dict
	Error       URI
	Payload
}

// Publish asks the broker to publish an event:
// [PUBLISH, Request, Options, Topic, Args|list, Kwargs|dict].
type Publish struct {
	Request ID
	Options Dict
	Topic   URI
	Payload
}

// Published acknowledges a Publish that asked for it:
// [PUBLISHED, PUBLISH.Request, Publication].
type Published struct {
	Request     ID
	Publication ID
}

// Subscribe asks the broker for events on a topic:
// [SUBSCRIBE, Request, Options, Topic].
type Subscribe struct {
	Request ID
	Options Dict
	Topic   URI
}

// Subscribed acknowledges a Subscribe:
// [SUBSCRIBED, SUBSCRIBE.Request, Subscription].
type Subscribed struct {
	Request      ID
	Subscription ID
}

// Unsubscribe ends a subscription:
// [UNSUBSCRIBE, Request, SUBSCRIBED.Subscription].
type Unsubscribe struct {
	Request      ID
	Subscription ID
}

// Unsubscribed acknowledges an Unsubscribe: [UNSUBSCRIBED, UNSUBSCRIBE.Request]
// or, when the router revokes a subscription, [UNSUBSCRIBED, 0, Details].
type Unsubscribed struct {
	Request ID
	Details Dict // nil unless the router revokes the subscription
}

// Event delivers a publication to a subscriber:
// [EVENT, SUBSCRIBED.Subscription, PUBLISHED.Publication, Details,
// Args|list, Kwargs|dict].
type Event struct {
	Subscription ID
	Publication  ID
	Details      Dict
	Payload
}

// Call asks the dealer to call a procedure:
// [CALL, Request, Options, Procedure, Args|list, Kwargs|dict].
type Call struct {
	Request   ID
	Options   Dict
	Procedure URI
	Payload
}

// Cancel asks the dealer to cancel a pending call:
// [CANCEL, CALL.Request, Options].
type Cancel struct {
	Request ID
	Options Dict
}

// Result carries the result of a call to the caller:
// [RESULT, CALL.Request, Details, Args|list, Kwargs|dict].
type Result struct {
	Request ID
	Details Dict
	Payload
}

// Register asks the dealer to route calls of a procedure to the sender:
// [REGISTER, Request, Options, Procedure].
type Register struct {
	Request   ID
	Options   Dict
	Procedure URI
}

// Registered acknowledges a Register:
// [REGISTERED, REGISTER.Request, Registration].
type Registered struct {
	Request      ID
	Registration ID
}

// Unregister ends a registration:
// [UNREGISTER, Request, REGISTERED.Registration].
type Unregister struct {
	Request      ID
	Registration ID
}

// Unregistered acknowledges an Unregister:
// [UNREGISTERED, UNREGISTER.Request] or, when the router revokes a
// registration, [UNREGISTERED, 0, Details].
type Unregistered struct {
	Request ID
	Details Dict // nil unless the router revokes the registration
}

// Invocation asks a callee to run a call:
// [INVOCATION, Request, REGISTERED.Registration, Details,
// Args|list, Kwargs|dict].
type Invocation struct {
	Request      ID
	Registration ID
	Details      Dict
	Payload
}

// Interrupt tells a callee that the dealer cancelled an invocation:
// [INTERRUPT, INVOCATION.Request, Options].
type Interrupt struct {
	Request ID
	Options Dict
}

// Yield carries a callee's result to the dealer:
// [YIELD, INVOCATION.Request, Options, Args|list, Kwargs|dict].
type Yield struct {
	Request ID
	Options Dict
	Payload
}

// Type implementations.

func (*Hello) Type() Type        { return TypeHello }
func (*Welcome) Type() Type      { return TypeWelcome }
func (*Abort) Type() Type        { return TypeAbort }
func (*Challenge) Type() Type    { return TypeChallenge }
func (*Authenticate) Type() Type { return TypeAuthenticate }
func (*Goodbye) Type() Type      { return TypeGoodbye }
func (*ErrorMessage) Type() Type { return TypeError }
func (*Publish) Type() Type      { return TypePublish }
func (*Published) Type() Type    { return TypePublished }
func (*Subscribe) Type() Type    { return TypeSubscribe }
func (*Subscribed) Type() Type   { return TypeSubscribed }
func (*Unsubscribe) Type() Type  { return TypeUnsubscribe }
func (*Unsubscribed) Type() Type { return TypeUnsubscribed }
func (*Event) Type() Type        { return TypeEvent }
func (*Call) Type() Type         { return TypeCall }
func (*Cancel) Type() Type       { return TypeCancel }
func (*Result) Type() Type       { return TypeResult }
func (*Register) Type() Type     { return TypeRegister }
func (*Registered) Type() Type   { return TypeRegistered }
func (*Unregister) Type() Type   { return TypeUnregister }
func (*Unregistered) Type() Type { return TypeUnregistered }
func (*Invocation) Type() Type   { return TypeInvocation }
func (*Interrupt) Type() Type    { return TypeInterrupt }
func (*Yield) Type() Type        { return TypeYield }
