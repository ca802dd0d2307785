// Package wamphttp maps WAMP error URIs to HTTP statuses, one table for
// every HTTP face of Junction (an app's handlers, the HTTP bridge).
package wamphttp

import (
	"net/http"

	"github.com/junction-run/junction/router"
	"github.com/junction-run/junction/wamp"
)

// URINoSuchTask is the error of a task ID that names no task.
const URINoSuchTask = wamp.URI("junction.error.no_such_task")

// Status is the HTTP status of a WAMP error: 400 for a bad argument, 403
// for a refusal, 503 when nobody can answer, 504 for a timeout, 404 for
// an ID that names nothing, 429 over a rate limit, and 502 for the
// errors of the callee itself (the bridge's or app's upstream).
func Status(uri wamp.URI) int {
	switch uri {
	case wamp.URIInvalidArgument:
		return http.StatusBadRequest
	case wamp.URINotAuthorized, wamp.URIAuthorizationFailed:
		return http.StatusForbidden
	case wamp.URINoSuchProcedure, wamp.URINoAvailableCallee, wamp.URIUnavailable, wamp.URICanceled:
		return http.StatusServiceUnavailable
	case wamp.URITimeout:
		return http.StatusGatewayTimeout
	case wamp.URINoSuchSession, wamp.URINoSuchRegistration, wamp.URINoSuchSubscription, URINoSuchTask:
		// An id that names nothing (a meta API or queue call): the
		// request's mistake, as an unknown path is.
		return http.StatusNotFound
	case router.URIRateLimitExceeded:
		return http.StatusTooManyRequests
	}
	return http.StatusBadGateway
}
