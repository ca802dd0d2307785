package supervise

import (
	"fmt"
	"os/user"
	"strconv"
	"strings"
	"syscall"
)

// credential is who a run runs as, when Spec.User or Spec.Group is set.
type credential struct {
	// sys is nil when the user and group are already ours: nothing to
	// switch, and no root needed.
	sys *syscall.Credential
	// user is set with Spec.User: its HOME, USER and LOGNAME go in the
	// environment.
	user *user.User
}

// lookupCredential resolves user and group names or ids, and checks that
// a process running as euid/egid may switch to them.
func lookupCredential(userName, groupName string, euid, egid int) (*credential, error) {
	if userName == "" && groupName == "" {
		return nil, nil
	}
	c := &credential{}
	uid, gid := uint32(euid), uint32(egid)
	var groups []uint32
	noSetGroups := true
	if userName != "" {
		u, err := lookupUser(userName)
		if err != nil {
			return nil, err
		}
		c.user = u
		uid, gid = parseID(u.Uid), parseID(u.Gid)
		ids, err := u.GroupIds()
		if err != nil {
			return nil, fmt.Errorf("user %s: groups: %w", userName, err)
		}
		for _, id := range ids {
			groups = append(groups, parseID(id))
		}
		noSetGroups = false
	}
	if groupName != "" {
		g, err := lookupGroup(groupName)
		if err != nil {
			return nil, err
		}
		gid = parseID(g.Gid)
	}
	if euid != 0 {
		if uid == uint32(euid) && gid == uint32(egid) {
			return c, nil // already that user and group: nothing to switch
		}
		what := "user " + userName
		if userName == "" {
			what = "group " + groupName
		}
		return nil, fmt.Errorf("running as %s %w; junction runs as uid %d", what, ErrNeedRoot, euid)
	}
	c.sys = &syscall.Credential{Uid: uid, Gid: gid, Groups: groups, NoSetGroups: noSetGroups}
	return c, nil
}

func lookupUser(s string) (*user.User, error) {
	if isID(s) {
		return user.LookupId(s)
	}
	return user.Lookup(s)
}

func lookupGroup(s string) (*user.Group, error) {
	if isID(s) {
		return user.LookupGroupId(s)
	}
	return user.LookupGroup(s)
}

func isID(s string) bool {
	_, err := strconv.ParseUint(s, 10, 32)
	return err == nil
}

// parseID parses an id that os/user returned; on Unix it is always
// numeric.
func parseID(s string) uint32 {
	n, _ := strconv.ParseUint(s, 10, 32)
	return uint32(n)
}

// env returns env with HOME, USER and LOGNAME set for the user, if any.
func (c *credential) env(env []string) []string {
	if c == nil || c.user == nil {
		return env
	}
	set := map[string]string{"HOME": c.user.HomeDir, "USER": c.user.Username, "LOGNAME": c.user.Username}
	out := make([]string, 0, len(env)+len(set))
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := set[k]; !ok {
			out = append(out, kv)
		}
	}
	for _, k := range []string{"HOME", "USER", "LOGNAME"} {
		out = append(out, k+"="+set[k])
	}
	return out
}
