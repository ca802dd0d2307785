package junction

// hooks holds the lifecycle handlers registered with On.
type hooks struct{}
