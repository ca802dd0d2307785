//go:build race

package codec

// raceDetector: the race detector drops sync.Pool items at random, so
// allocation counts are not the program's.
const raceDetector = true
