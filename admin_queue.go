package junction

import (
	"github.com/junction-run/junction/admin"
	"github.com/junction-run/junction/internal/queueadmin"
	"github.com/junction-run/junction/queue"
)

// queuesForAdmin shows the app's task queues in the web admin; Queue
// sets adminQueues to it.
func queuesForAdmin(app *Application) admin.Queues {
	return queueadmin.New(func() []*queue.Queue {
		app.mu.Lock()
		declared := append([]*Queue(nil), app.queues...)
		app.mu.Unlock()
		var open []*queue.Queue
		for _, q := range declared {
			if e := q.Engine(); e != nil {
				open = append(open, e)
			}
		}
		return open
	})
}
