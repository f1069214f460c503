package teacher

import (
	"context"

	"github.com/twigdata/twig/inference"
)

// ViewFormatReminder is the user message of a judge's correction turn: it
// follows the unparsed answer and restates the output format of the
// filters/vlm judge template.
const ViewFormatReminder = "Your answer did not follow the required format. " +
	"Answer again in exactly the format the first message asks for and nothing else: " +
	"a line SCORE: <integer 0-100>, then one line Q<n>: yes or Q<n>: no for every question, in order."

var _ inference.Viewer = (*Client)(nil)

// View sends one chat completion for the VLM judge (op "judge"): the
// instruction with the image, as Critique sends the canvas, or the
// correction conversation, ending in [ViewFormatReminder], when
// req.Unparsed is not empty (see [Client.Complete]).
func (c *Client) View(ctx context.Context, req inference.ViewRequest) (inference.Reply, error) {
	return viewerOf{c}.View(ctx, req)
}
