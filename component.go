package junction

// component is a declared subscription or registration.
type component struct{}
