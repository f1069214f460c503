package annotators

import "strings"

// This file holds the closed word classes the parser needs and the open
// lists (compound nouns, verbs, adjectives, non-object nouns) that steer
// its guesses. Every list is lower case, and the noun lists are singular.

// numbers are the number words; "dozen" reads as 12.
var numbers = map[string]int{
	"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
	"seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
	"thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
	"seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
	"thirty": 30, "forty": 40, "fifty": 50, "hundred": 100, "dozen": 12,
}

// maxCount caps the count of a single object.
const maxCount = 100

// quantifiers state a vague quantity; Parse gives them a count but does not
// treat them as numbers when it guesses the category.
var quantifiers = map[string]int{
	"some": 2, "several": 3, "many": 5, "few": 3, "multiple": 2, "numerous": 5,
	"both": 2, "various": 3, "countless": 5,
}

var determiners = words(`a an the these those my your his her its our their each every any
	another no either neither all`)

var conjunctions = words(`and or but nor while as then plus yet so because whereas where when if
	although though than whilst`)

var prepositions = words(`of in on at with by for from to into onto upon through across along
	around among amongst against inside outside within without toward towards about after
	before during between past up down off out like via per beyond throughout amid amidst
	including despite since until till except versus`)

// beForms are the forms of "be"; on their own they do not make a prompt a
// non-spatial one ("a cat is on the left of a dog").
var beForms = words(`is are was were am be been being`)

// haveForms are the forms of "have"; before a noun phrase they are a verb
// ("the man has a hat").
var haveForms = words(`has have had having`)

// linkingVerbs take an adjective, as "be" does: "feeling awestruck".
var linkingVerbs = words(`feel feels felt feeling seem seems seemed seeming become becomes
	became becoming look looks looked looking appear appears appeared appearing get gets got
	getting`)

var auxiliaries = words(`do does did will would can could shall should may might must`)

var pronouns = words(`it they them he she him we us you i me who whom whose which that what
	there here itself themselves himself herself myself yourself ourselves someone something
	somebody everyone everything everybody anyone anything anybody nothing nobody none
	other others this`)

var adverbs = words(`very too also just only still even ever never always often sometimes
	usually together apart away again almost quite rather really now later soon already
	nearby not instead perhaps maybe somewhere everywhere anywhere upward upwards downward
	downwards forward forwards backward backwards overhead outdoors indoors home alone
	abroad ahead aside forth`)

// notAdverbs end in -ly but are nouns or adjectives.
var notAdverbs = words(`family butterfly dragonfly firefly housefly jelly belly lily bully holly
	ally rally assembly supply monopoly anomaly fly reply melancholy italy july
	puppy teddy bully ugly holy lovely lonely friendly lively curly silly jolly
	chilly oily early daily weekly elderly`)

// adjectives are common adjectives that are neither attributes nor
// nouns: they may precede a noun but are never its head.
var adjectives = words(`beautiful pretty cute ugly old new young ancient modern futuristic
	vintage antique fresh ripe rotten sunny rainy cloudy foggy windy stormy cozy cosy comfy
	comfortable warm cold hot cool wet dry clean dirty empty full busy quiet noisy crowded
	lonely happy sad angry sleepy hungry tired lazy playful joyful cheerful colorful
	colourful shiny glossy matte sparkling sparkly smooth rough soft hard heavy thin thick
	narrow wide broad shallow high low fat skinny slim elegant fancy simple plain ornate
	decorative delicious tasty juicy sweet sour spicy salty crispy crunchy creamy broken
	cracked damaged torn shattered open closed electric electronic digital wild domestic
	famous favorite favourite lucky magical mysterious strange unusual unique different
	same only final latest first second close last next upper lower central inner outer main entire whole single double
	unlikely useful fashionable picturesque precious beloved blank contrasting celestial
	floral rustic tropical exotic steep calm stunning majestic gorgeous lovely adorable
	fierce friendly curious brave proud shy gentle healthy cheap
	expensive luxurious spacious bustling serene peaceful vibrant colourless neat
	messy tidy striped spotted dotted checkered plaid patterned transparent opaque
	dull rusty nice great good bad scenic historic urban rural
	local foreign real fake realistic detailed abstract lush dense
	sparse bare hollow solid fragile sturdy durable worn weathered polished`)

// adjectiveSuffixes mark adjectives by their ending.
var adjectiveSuffixes = []string{"ous", "less", "ful", "ish", "ible", "able"}

// notAdjectives have an adjective ending but are nouns.
var notAdjectives = words(`handful spoonful mouthful cupful armful bucketful fish goldfish
	jellyfish starfish catfish swordfish radish dish relish polish table cable vegetable
	stable fable bible marble`)

// stopNouns name no object one could paint: abstract nouns, positions and
// parts of the canvas. A noun phrase with one of them as its head names no
// object.
var stopNouns = words(`way time day night morning evening afternoon moment beauty plan class
	protest slogan touch life skill disagreement noise attention purpose contrast
	inspiration highlight feature centerpiece view option landmark symbol body space
	accommodation thing destination focus lesson kind type sort lot bit rest part half
	side top bottom front back middle center centre corner edge end left right distance
	weather music rhythm tune atmosphere game fun joy love idea dream peace work job role
	scene choice piece pair shape mind tension fragrance help sense chance place
	direction detail color colour texture size number variety amount glimpse moment
	style look manner fashion order trouble matter reason fact question answer image
	canvas region section portion composition third quarter`)

// collectiveNouns name a set of the things after "of": in "a group of
// people" the object is the people.
var collectiveNouns = map[string]int{
	"group": 0, "row": 0, "pile": 0, "stack": 0, "set": 0, "bunch": 0, "flock": 0,
	"herd": 0, "crowd": 0, "team": 0, "collection": 0, "bouquet": 0, "handful": 0,
	"lot": 0, "number": 0, "variety": 0, "cluster": 0, "swarm": 0, "pack": 0,
	"litter": 0, "line": 0, "heap": 0, "bundle": 0, "family": 0, "troop": 0,
	"fleet": 0, "pod": 0, "colony": 0, "array": 0, "assortment": 0, "series": 0,
	"pair": 2, "couple": 2, "trio": 3,
}

// portionNouns name a part of the thing after "of": in "a triangular slice
// of cheese" the object is the cheese, and it is triangular.
var portionNouns = words(`slice piece bar blade chunk scoop strip sheet drop grain lump wedge
	sliver stick`)

// containerNouns hold the thing after "of": in "a cylindrical bottle of
// water" the object is the bottle and the water is not one.
var containerNouns = words(`bottle jar can cup glass bowl plate box tube container bag basket
	pot mug bucket carton packet crate tin tray jug pitcher sack barrel dish spoon`)

// compounds are multi-word nouns Parse keeps whole ("teddy bear"). Their
// last word may be plural in the prompt.
var compounds = func() map[string]bool {
	m := map[string]bool{}
	for _, line := range strings.Split(compoundList, ",") {
		if c := strings.Join(strings.Fields(line), " "); c != "" {
			m[c] = true
		}
	}
	return m
}()

const compoundList = `
	pencil holder, jewelry box, jewellery box, picture frame, salt shaker, pepper shaker,
	park bench, teddy bear, polar bear, fire hydrant, traffic light, traffic cone,
	traffic sign, stop sign, road sign, street sign, yield sign, parking sign, caution sign,
	speed limit sign, street lamp, street light, desk lamp, door knob, phone case,
	cell phone, mobile phone, ice cream, ice cream cone, ice cube, sugar cube, ice bucket,
	water bottle, wine bottle, wine glass, party hat, shower curtain, soap dish,
	soap dispenser, bath mat, bath tub, beach ball, soccer ball, tennis ball, golf ball,
	bowling ball, bowling pin, snow globe, magnifying glass, yoga mat, chew toy, oak tree,
	palm tree, christmas tree, paper towel, paper towel roll, pizza box, pizza cutter,
	cutting board, cheese board, gift box, ring box, candle holder, coin purse,
	remote control, laptop bag, sweet potato, acorn squash, soda can, paper clip,
	paper clip holder, paperclip holder, fish tank, bird feeder, cookie cutter,
	cheese grater, rolling pin, measuring cup, test tube, watering can, credit card,
	vending machine, takeout container, coin pouch, coffee cup, tea cup, counter top,
	table runner, tree skirt, wizard hat, baseball cap, paint can, soldering iron,
	push mower, drum set, bell pepper, hot dog, hot air balloon, fire truck, police car,
	school bus, living room, dining room, dining table, dining chair, coffee table,
	end table, crystal holder, crystal wand, pen holder,
	bread basket, pie dish, sandwich press, bacon strip, breakfast sandwich, muffin liner, cinnamon roll, party invitation, tennis shoe,
	golf tee, basketball player, pendant light, ceiling light, wall art, wall shelf,
	wall hook, corner shelf, shelf unit, lamp base, flower arrangement, building set,
	game box, game piece, puzzle box, puzzle piece, gift wrap, award statue, trophy ball,
	trophy stand, trophy base, pencil sharpener, pencil eraser, book stand,
	desk organizer, clock face, chocolate box, chocolate truffle, keychain charm,
	shirt button, candlestick holder, bracelet charm, charm bracelet, bead necklace,
	chain necklace, brooch pin, engagement ring, wedding ring, tree topper, soccer goal,
	teddy bear, fire place, night stand, swimming pool, tooth brush, toothpaste tube,
	hair dryer, washing machine, sewing machine, sports car, race car, steering wheel,
	hot tub, computer mouse, guinea pig, sea turtle, sea lion, golden retriever,
	rubik cube, rubiks cube, picnic table, picnic blanket,
	soda cup, tile floor, plant holder, perfume bottle, baking dish,
	cookie jar, flower pot, flower vase, trash can, garbage can, mail box, post box,
	lamp shade, music box, tool box, lunch box, shoe box, toy box, toy car,
	toy airplane, toy train, golf club, light bulb, fairy lights, string lights,
	ping pong ball, bowling alley, ferris wheel, tennis racket, baseball bat, cowboy hat,
	top hat, sun hat, bow tie, high heel, high heels, rain boot, rain coat, winter coat,
	ski jacket, bus stop, gas station, fire station, train station,
	ice skate, roller skate, skate board, surf board, hair brush, paint brush,
	wrist watch, alarm clock, grandfather clock, pocket watch, sun glasses, hand bag,
	back pack, note book, text book, story book, wine rack, book shelf, fire truck`

// verbs are common verb bases. Parse recognises their -s, -ed and -ing
// forms too, and irregularPast lists the past forms no rule gives.
var verbs = words(`hold carry eat drink feed ride pet hug wash push pull watch chase throw
	kick look clean repair fix cook cut buy photograph wear open sit read play walk run
	jump swim fly sing dance sleep lie stand lean rest hang nap perch lounge sit display
	provide bake boil mix serve write measure pound stir slice shape beat decorate
	illuminate attract keep release jot hold make lead fill complete entertain create
	conduct enjoy march chant wave walk chat add knead place melt laugh catch mow wax
	practice practise juggle rush shake repair pretend shop navigate grab paint draw build
	climb sail float glide soar flow grow bloom shine glow sparkle stare gaze
	point reach touch smell taste kiss greet meet talk speak tell show give take bring put
	set lift drop fold roll spin twist bend stretch lay sweep brush comb dry iron sew knit
	stitch carve plant water dig rake pick gather collect sort stack arrange organize
	organise prepare pour spread chop peel grate whisk fry grill roast heat cool
	freeze thaw steam bake dine feast sip bite chew lick sniff bark meow roar howl chirp
	buzz quack hop crawl climb slide skate ski surf dive paddle row steer drive park ride
	fly land board wait sit stand kneel crouch squat bow nod smile frown cry weep yell
	shout whisper listen hear see notice spot find search explore hike trek wander roam
	stroll jog sprint race chase hunt fish fight wrestle box kick punch throw toss pitch
	bat hit strike swing shoot aim score win lose celebrate cheer clap applaud wave
	hang dangle drape cover wrap tie pack unpack load unload deliver send receive open
	close lock unlock enter exit leave arrive depart return visit tour admire marvel
	adorn surround fill clutter decorate light illuminate brighten shade protect guard
	block hide seek wear dress undress button zip lace tie buckle fasten study learn teach
	explain discuss argue debate present perform act sing recite pray meditate relax
	rest sleep dream wake yawn stretch exercise train lift pose model sculpt mold mould
	weave repair paint sketch draw doodle scribble type text call phone email browse
	scroll tap swipe click type hold grip squeeze pinch poke stroke scratch rub pat tickle
	sniff lick nibble gnaw graze munch devour swallow sip slurp gulp drink cheer
	pass sizzle tick leap pound stick unload cheat share move go avoid soothe chug come hope
	try want need bounce twirl soar`)

// irregularPast are past forms of verbs.
var irregularPast = words(`sat stood flew ran ate drank held hung made led kept rode sang swam
	grew threw took gave went came wore read fed found built brought bought caught drew drove
	spun sprang struck swept shone slept spread put cut hit beat broke chose dug fought hid
	knelt leapt met paid sent shook sold split stuck swung taught thought told tore won wrote
	woke blew bent bled bred clung crept dealt fled flung forgot froze knew meant rang sank
	sought shot shrank slid slung sped spent spilt spoke stole stung strode strove sunk swore
	thrust trod understood wept`)

// ingNouns end in -ing but are nouns.
var ingNouns = words(`ring king wing string thing swing spring ceiling building painting
	clothing wedding pudding earring evening morning icing stuffing sibling duckling
	dumpling seedling awning railing frosting herring lightning sling bling offering
	stocking filling topping dressing landing ping wiring tiling flooring siding
	sculpting carving drawing writing being nothing something everything anything`)

// edNouns end in -ed but are nouns.
var edNouns = words(`steed speed breed tweed seaweed hundred sled shed bed seed reed weed
	bobsled flowerbed sunbed seabed`)

// extraNouns are nouns outside the composer's vocabulary that share a form
// with a verb; Parse never takes them for verbs before a preposition.
var extraNouns = words(`stand case light watch ring sink fly duck drum box seal bat board
	display stamp cover park ship bear dress shade rest rake brush comb iron plant water
	fish frame table chair shelf post stick kite lamp sign trail hike race block cook
	guard model train trunk ski tie cap lock fork spoon knife hook pin tape clip kick
	pitch bowl cup plate glass`)

// relationPhrases map phrases to relation predicates. Longer phrases are
// tried first.
var relationPhrases = map[string]string{
	"on the left of": "left_of", "on the left side of": "left_of", "to the left of": "left_of",
	"at the left of": "left_of", "left of": "left_of",
	"on the right of": "right_of", "on the right side of": "right_of",
	"to the right of": "right_of", "at the right of": "right_of", "right of": "right_of",
	"on the top of": "above", "on top of": "above", "at the top of": "above",
	"above": "above", "over": "above", "atop": "above",
	"on the bottom of": "below", "at the bottom of": "below", "below": "below",
	"under": "below", "underneath": "below", "beneath": "below",
	"on side of": "next_to", "on the side of": "next_to", "by the side of": "next_to",
	"at the side of": "next_to", "next to": "next_to", "beside": "next_to",
	"near": "next_to", "close to": "next_to", "alongside": "next_to",
	"adjacent to": "next_to",
	"in front of": "in_front_of", "in the front of": "in_front_of",
	"behind": "behind", "in back of": "behind", "at the back of": "behind",
	"hidden by": "hidden_by", "hidden behind": "hidden_by", "covered by": "hidden_by",
	"obscured by": "hidden_by", "occluded by": "hidden_by", "blocked by": "hidden_by",
	"concealed by": "hidden_by",
}

// maxPhrase is the most words in a relation phrase or compound noun.
const maxPhrase = 5

// relations3D are the predicates of 3D spatial prompts; the other
// spatial predicates are 2D.
var relations3D = map[string]bool{"in_front_of": true, "behind": true, "hidden_by": true}

var relations2D = map[string]bool{
	"left_of": true, "right_of": true, "above": true, "below": true, "next_to": true,
}

// isVerbForm reports whether w is a form of a known verb other than the
// -ing form: the base, -s, -es, -ed and irregular past forms.
func isVerbForm(w string) bool {
	if verbs[w] || irregularPast[w] {
		return true
	}
	if edNouns[w] {
		return false
	}
	for _, c := range []struct{ suffix, repl string }{
		{"ies", "y"}, {"es", ""}, {"s", ""}, {"ied", "y"}, {"ed", ""}, {"d", ""},
	} {
		if stem, ok := strings.CutSuffix(w, c.suffix); ok && len(stem) > 1 {
			if verbs[stem+c.repl] {
				return true
			}
			// Doubled final consonant: "stopped", "chatted".
			if c.suffix == "ed" && len(stem) > 2 && stem[len(stem)-1] == stem[len(stem)-2] && verbs[stem[:len(stem)-1]] {
				return true
			}
		}
	}
	return false
}

// isIngVerb reports whether w looks like the -ing form of a verb.
func isIngVerb(w string) bool {
	return len(w) > 4 && strings.HasSuffix(w, "ing") && !ingNouns[w]
}

// isEdVerb reports whether w looks like a past form of a verb.
func isEdVerb(w string) bool {
	return (len(w) > 4 && strings.HasSuffix(w, "ed") && !edNouns[w]) || irregularPast[w]
}

// isAdverb reports whether w is an adverb, listed or by its -ly ending.
func isAdverb(w string) bool {
	if adverbs[w] {
		return true
	}
	return len(w) > 4 && strings.HasSuffix(w, "ly") && !notAdverbs[w] && !knownNoun(w)
}

// isAdjective reports whether w is a known adjective, listed or by its
// ending.
func isAdjective(w string) bool {
	if adjectives[w] {
		return true
	}
	if notAdjectives[w] || knownNoun(w) {
		return false
	}
	for _, s := range adjectiveSuffixes {
		if len(w) > len(s)+2 && strings.HasSuffix(w, s) {
			return true
		}
	}
	return false
}

// knownNoun reports whether w, singular or plural, is a noun Parse knows:
// one of the composer's, a compound or a listed noun that is also a verb.
func knownNoun(w string) bool {
	s := Singular(w)
	return nounIndex[s] || compounds[s] || extraNouns[s]
}
