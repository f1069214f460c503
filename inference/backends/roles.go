package backends

import (
	"os"
	"time"

	"github.com/twigdata/twig/inference"
	"github.com/twigdata/twig/inference/teacher"
)

// Role is one row of the table of teacher roles: where the role is
// configured, the role its calls are recorded under, the environment
// variable of its API key and its default timeout. Every place that names
// a role (validation, key lookup, messages, the config hash, redaction)
// reads this table, so that the names cannot drift apart again (they once
// did: messages said TWIG_THINKER_API_KEY, the code read
// TWIG_THINK_API_KEY).
type Role struct {
	// Field is the role's key under "backends" in a config file.
	Field string
	// Call is the role the calls are recorded, cached and budgeted under
	// (inference.RoleThink, ...).
	Call string
	// KeyEnv is the role's own API-key variable; FallbackKeyEnv is the
	// fallback of every role.
	KeyEnv string
	// DefaultTimeout is what a zero Teacher.Timeout means: the default
	// of the role's client.
	DefaultTimeout time.Duration
	of             func(*Backends) *Teacher
}

// FallbackKeyEnv is the API-key variable every teacher role falls back to.
const FallbackKeyEnv = "OPENAI_API_KEY"

// The teacher roles, one row each.
var (
	ThinkerRole = Role{"thinker", inference.RoleThink, "TWIG_THINK_API_KEY", teacher.DefaultTimeout, func(b *Backends) *Teacher { return &b.Thinker }}
	CriticRole  = Role{"critic", inference.RoleCritique, "TWIG_CRITIQUE_API_KEY", teacher.DefaultTimeout, func(b *Backends) *Teacher { return &b.Critic }}
	DrawerRole  = Role{"drawer", inference.RoleDraw, "TWIG_DRAW_API_KEY", teacher.DefaultDrawTimeout, func(b *Backends) *Teacher { return &b.Drawer }}
	JudgeRole   = Role{"judge", inference.RoleJudge, "TWIG_JUDGE_API_KEY", teacher.DefaultTimeout, func(b *Backends) *Teacher { return &b.Judge }}
)

// Roles is the table of teacher roles, in config order.
var Roles = []Role{ThinkerRole, CriticRole, DrawerRole, JudgeRole}

// Of returns the role's teacher in b.
func (r Role) Of(b *Backends) *Teacher { return r.of(b) }

// KeyHint names where the role's key is read from, for messages.
func (r Role) KeyHint(t Teacher) string {
	if t.KeyEnv != "" {
		return t.KeyEnv
	}
	return r.KeyEnv + " or " + FallbackKeyEnv
}

// apiKey returns the role's key from the environment: the teacher's
// KeyEnv when set, else the role's variable, else FallbackKeyEnv.
func (r Role) apiKey(t Teacher) string {
	if t.KeyEnv != "" {
		return os.Getenv(t.KeyEnv)
	}
	if k := os.Getenv(r.KeyEnv); k != "" {
		return k
	}
	return os.Getenv(FallbackKeyEnv)
}
