package schema_test

import (
	"fmt"

	"github.com/twigdata/twig/schema"
)

func ExampleTrajectoryID() {
	fmt.Println(schema.TrajectoryID("twig-demo", "a red apple and a green train", 0))
	fmt.Println(schema.TrajectoryID("twig-demo", "a red apple and a green train", 0) ==
		schema.TrajectoryID("twig-demo", "a red apple and a green train", 1))
	// Output:
	// 74170181-a721-5a90-ba03-bd81b46af31e
	// false
}
