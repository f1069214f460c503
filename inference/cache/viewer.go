package cache

import (
	"context"

	"github.com/twigdata/twig/inference"
)

// Viewer wraps a vision-language judge so that its calls are cached under
// role inference.RoleJudge ("judge"): rerunning the judge on the same
// image with the same instruction costs nothing.
func (c *Cache) Viewer(v inference.Viewer, id Identity) inference.Viewer {
	return &viewer{c: c, next: v, id: id}
}

type viewer struct {
	c    *Cache
	next inference.Viewer
	id   Identity
}

var _ inference.Viewer = (*viewer)(nil)

// viewKey is a view request as keyed: the image by digest.
type viewKey struct {
	inference.ViewRequest
	Image string
}

func (v *viewer) View(ctx context.Context, req inference.ViewRequest) (inference.Reply, error) {
	k := viewKey{ViewRequest: req, Image: digest(req.Image)}
	k.ViewRequest.Image = nil
	return do(ctx, v.c, inference.RoleJudge, v.id, k, func() (inference.Reply, error) {
		return v.next.View(ctx, req)
	})
}
