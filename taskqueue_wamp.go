package junction

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/internal/wamphttp"
	"github.com/junction-run/junction/queue"
	"github.com/junction-run/junction/wamp"
)

// The queue's and the scheduler's WAMP procedures, so that a browser, a
// Python service or any WAMP client can use them. Every process of the
// app registers them, shared round-robin.
//
//	junction.queue.NAME.enqueue(task, payload?, {delay_ms, run_at, dedup_id, max_retries, timeout_ms}) -> id
//	junction.queue.NAME.result(id, {wait: true, timeout_ms}) -> {id, task, state, value, error, attempts, finished}
//	junction.queue.NAME.stats() -> {pending, running, done, failed, dead, tasks: {...}}
//	junction.queue.NAME.dead() -> [{id, task, error, attempts, ...}]
//	junction.queue.NAME.requeue(id), junction.queue.NAME.delete(id)
//	junction.queue.NAME.on_done (event) -> the task's result
//	junction.cron.list() -> [{name, schedule, next, last_run, last_duration, last_result, runs, failures, skips, running}]
func (app *Application) registerQueueProcedures(q *Queue) {
	shared := Invoke("roundrobin")
	reg := func(what string, h client.InvocationHandler) {
		app.registerInternal(queueURI(q.name, what), h, shared)
	}
	reg("enqueue", func(ctx context.Context, inv *client.Invocation) (*client.Result, error) {
		task, err := inv.ArgString(0)
		if err != nil {
			return nil, err
		}
		opts, err := enqueueKwargs(inv.Kwargs)
		if err != nil {
			return nil, err
		}
		id, err := q.Enqueue(ctx, task, inv.Arg(1), opts...)
		if err != nil {
			return nil, queueError(err)
		}
		return &client.Result{Values: client.Values{Args: wamp.List{id}}}, nil
	})
	reg("result", func(ctx context.Context, inv *client.Invocation) (*client.Result, error) {
		id, err := inv.ArgString(0)
		if err != nil {
			return nil, err
		}
		qq, err := q.started()
		if err != nil {
			return nil, err
		}
		var r *queue.Result
		if wait, ok := inv.Kwargs["wait"].(bool); ok && !wait {
			r, err = qq.Status(ctx, id)
		} else {
			if ms, err := inv.KwargInt("timeout_ms"); err == nil && ms > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, time.Duration(ms)*time.Millisecond)
				defer cancel()
			}
			r, err = qq.Result(ctx, id)
		}
		if err != nil {
			return nil, queueError(err)
		}
		v, err := toWire(taskResult(r))
		if err != nil {
			return nil, err
		}
		return &client.Result{Values: client.Values{Args: wamp.List{v}}}, nil
	})
	reg("stats", func(ctx context.Context, inv *client.Invocation) (*client.Result, error) {
		qq, err := q.started()
		if err != nil {
			return nil, err
		}
		st, err := qq.Stats(ctx)
		if err != nil {
			return nil, queueError(err)
		}
		return single(st)
	})
	reg("dead", func(ctx context.Context, inv *client.Invocation) (*client.Result, error) {
		qq, err := q.started()
		if err != nil {
			return nil, err
		}
		dead, err := qq.Dead(ctx)
		if err != nil {
			return nil, queueError(err)
		}
		return single(dead)
	})
	for what, f := range map[string]func(*queue.Queue, context.Context, string) error{
		"requeue": (*queue.Queue).Requeue,
		"delete":  (*queue.Queue).Delete,
	} {
		reg(what, func(ctx context.Context, inv *client.Invocation) (*client.Result, error) {
			id, err := inv.ArgString(0)
			if err != nil {
				return nil, err
			}
			qq, err := q.started()
			if err != nil {
				return nil, err
			}
			if err := f(qq, ctx, id); err != nil {
				return nil, queueError(err)
			}
			return nil, nil
		})
	}
}

// single is a result of one value in its wire form.
func single(v any) (*client.Result, error) {
	w, err := toWire(v)
	if err != nil {
		return nil, err
	}
	return &client.Result{Values: client.Values{Args: wamp.List{w}}}, nil
}

// enqueueKwargs reads the options of junction.queue.NAME.enqueue.
func enqueueKwargs(kw wamp.Dict) ([]Option, error) {
	v := &client.Values{Kwargs: kw}
	var opts []Option
	for key := range kw {
		switch key {
		case "delay_ms", "timeout_ms", "max_retries":
			n, err := v.KwargInt(key)
			if err != nil || n < 0 {
				return nil, wamp.NewError(wamp.URIInvalidArgument, fmt.Sprintf("%s: want a non-negative integer", key))
			}
			switch key {
			case "delay_ms":
				opts = append(opts, Delay(time.Duration(n)*time.Millisecond))
			case "timeout_ms":
				opts = append(opts, Timeout(time.Duration(n)*time.Millisecond))
			default:
				opts = append(opts, MaxRetries(int(n)))
			}
		case "run_at":
			s, err := v.KwargString(key)
			t, perr := time.Parse(time.RFC3339, s)
			if err != nil || perr != nil {
				return nil, wamp.NewError(wamp.URIInvalidArgument, "run_at: want an RFC 3339 time such as 2026-12-01T09:00:00Z")
			}
			opts = append(opts, RunAt(t))
		case "dedup_id":
			s, err := v.KwargString(key)
			if err != nil || s == "" {
				return nil, wamp.NewError(wamp.URIInvalidArgument, "dedup_id: want a non-empty string")
			}
			opts = append(opts, DedupID(s))
		default:
			return nil, wamp.NewError(wamp.URIInvalidArgument, fmt.Sprintf("unknown option %q: want delay_ms, run_at, dedup_id, max_retries or timeout_ms", key))
		}
	}
	return opts, nil
}

// uriNoSuchTask is the error of a queue procedure given an unknown task
// id.
const uriNoSuchTask = wamphttp.URINoSuchTask

// queueError gives a queue failure a WAMP error URI.
func queueError(err error) error {
	var we *wamp.Error
	switch {
	case errors.As(err, &we):
		return err
	case errors.Is(err, queue.ErrNotFound):
		return wamp.NewError(uriNoSuchTask, err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		return wamp.NewError(wamp.URITimeout, err.Error())
	case errors.Is(err, queue.ErrInvalidName), errors.Is(err, queue.ErrInvalidConfig), errors.Is(err, queue.ErrTooLarge):
		return wamp.NewError(wamp.URIInvalidArgument, err.Error())
	}
	return err
}

// registerCronList registers junction.cron.list.
func (app *Application) registerCronList() {
	app.registerInternal("junction.cron.list", func(ctx context.Context, inv *client.Invocation) (*client.Result, error) {
		return single(app.Jobs())
	}, Invoke("roundrobin"))
}
