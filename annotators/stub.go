package annotators

// TEMPORARY stub so dependants compile; the annotators helper replaces this file.

var colours = []string{"red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "black", "white", "gray"}
var shapes = []string{"round", "square", "rectangular", "triangular", "oval", "cylindrical", "cubic", "spherical"}
var textures = []string{"wooden", "metallic", "fluffy", "plastic", "glass", "leather", "rubber", "fabric"}

func parse(prompt string) Analysis { return Analysis{Category: "other"} }

func compose(n int, seed int64) []Composed { return nil }
