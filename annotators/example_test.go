package annotators_test

import (
	"fmt"

	"github.com/twigdata/twig/annotators"
)

func ExampleParse() {
	a := annotators.Parse("A red apple on the left of two wooden bowls.")
	for i, o := range a.Objects {
		fmt.Printf("object %d: %d %s, colour %q, texture %q\n", i, o.Count, o.Noun, o.Colour, o.Texture)
	}
	for _, r := range a.Relations {
		fmt.Printf("%s %s %s\n", a.Objects[r.Subject].Noun, r.Predicate, a.Objects[r.Object].Noun)
	}
	fmt.Println("category:", a.Category)
	// Output:
	// object 0: 1 apple, colour "red", texture ""
	// object 1: 2 bowl, colour "", texture "wooden"
	// apple left_of bowl
	// category: complex
}

func ExampleParse_nonSpatial() {
	a := annotators.Parse("A man is holding a book and reading on a park bench.")
	for _, r := range a.Relations {
		fmt.Printf("%s | %s | %s\n", a.Objects[r.Subject].Noun, r.Predicate, a.Objects[r.Object].Noun)
	}
	fmt.Println("category:", a.Category)
	// Output:
	// man | holding | book
	// man | reading on | park bench
	// category: non_spatial
}

func ExampleCompose() {
	for _, c := range annotators.Compose(8, 1) {
		fmt.Printf("%-11s %s\n", c.Category, c.Text)
	}
	// Output:
	// colour      a gray motorcycle and a beige cake
	// shape       a conical tree and a square sandwich
	// texture     a metallic bicycle, a furry rabbit and a fluffy teddy bear
	// spatial     a bottle on side of a cat
	// 3d_spatial  a lemon in front of a tray
	// numeracy    four baskets
	// non_spatial a man is photographing an elephant in the field
	// complex     an oval potato above a white chicken
}

func ExampleColourIndex() {
	fmt.Println(annotators.ColourIndex("grey"), annotators.ColourName(annotators.ColourIndex("grey")))
	fmt.Println(annotators.ShapeIndex("circular"), annotators.ShapeName(annotators.ShapeIndex("circular")))
	fmt.Println(annotators.TextureIndex("velvet"), annotators.TextureIndex("tartan"))
	// Output:
	// 11 gray
	// 1 round
	// 12 0
}

func ExampleQuestions() {
	for _, q := range annotators.Questions(annotators.Parse("three red apples on the left of a wooden table")) {
		fmt.Printf("%-9s %s\n", q.Kind, q.Text)
	}
	// Output:
	// count     Are there three apples in the image?
	// attribute Are the apples red?
	// object    Is there a table in the image?
	// attribute Is the table wooden?
	// relation  Are the apples on the left of the table?
}
