package cli

import (
	"github.com/junction-run/junction/admin"
	"github.com/junction-run/junction/internal/queueadmin"
	"github.com/junction-run/junction/queue"
)

// webhookQueues shows the webhooks' queue in the web admin's queue view,
// the router's only queue: an operator requeues or deletes the dead
// deliveries from there.
func webhookQueues(q *queue.Queue) admin.Queues {
	return queueadmin.New(func() []*queue.Queue { return []*queue.Queue{q} })
}
