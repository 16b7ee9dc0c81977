"""The count signal of the local engines (:mod:`agentkit.backends.local.several`) and the further call a
repeat may be replaced with when the request asks for several (strings and numbers moving forward)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from agentkit import ToolSpec
from agentkit.backends.local.constraints import build_grammar
from agentkit.backends.local.several import asks_for_several
from tests.grammar_matching import admits, call_text, object_tool, one_call_grammar


@pytest.mark.parametrize(
    ("request_text", "calls"),
    [
        ("Play Taylor Swift and Maroon 5 on Spotify.", [("play", {"artist": "Taylor Swift"})]),
        ("What is the weather in Paris and in Oslo?", [("weather", {"city": "Paris"})]),
        # a unit word after the number (two numbers used, one left: not enough unused numbers alone)
        ("Alimony on $9,000 for 10 years and 20 years", [("alimony", {"income": 9000, "years": 10})]),
        ("Details of Case No 28473 and 64725", [("case", {"number": "28473"})]),  # digits as text
        ("RGB values for navy, purple and maroon", [("rgb", {"color": "navy"})]),  # a list with "and"
        (
            "Distance between New York and Boston, and between Oslo and Rome",
            [("d", {"a": "New York", "b": "Boston"})],
        ),
        (
            "From March 10, 2022 to March 20, 2022 and for 2023",
            [("hotel", {"from": "2022"})],
        ),  # written twice
        ("The GCD of 36 and 48, and 60 and 96.", [("gcd", {"a": 36, "b": 48})]),
        ("Weather in Oslo and in Rome, respectively.", [("weather", {"city": "Oslo"})]),
        ("Factorials of 5, 7 and 9", [("factorial", {"n": 5}), ("factorial", {"n": 7})]),
        ("Loans of $500,000 and $700,000.", [("loan", {"amount": 500000})]),
        ("Growth at 5% or 7%.", [("growth", {"rate": 0.05})]),
        (
            "The first house is in Oslo. The second is in Rome. The third is in Bonn.",
            [("price", {"city": "Oslo"}), ("price", {"city": "Rome"})],
        ),  # ordinals number the parts
        ("Prices for Apple Inc., Google LLC., and Microsoft Corp.", [("price", {"company": "Apple Inc"})]),
        ("Museums in Washington D.C. and the Louvre in Paris", [("museum", {"city": "Washington D.C"})]),
        (
            "Interest at 5% over 10 years. What if we use monthly compounding instead?",
            [("i", {"rate": 0.05, "years": 10})],
        ),
        # a list of four: its "and" comes after two more commas
        ("The price per ounce of gold, silver, platinum, and palladium", [("p", {"metal": "gold"})]),
        # a comparison asks for a second call
        (
            "The average temperature in Oslo in Fahrenheit, and how does it compare to Rome in Celsius?",
            [("t", {"city": "Oslo", "unit": "Fahrenheit"})],
        ),
        # the word after a value comes again beside another ("... recipe and a ... recipe")
        ("A Chicken Noodle Soup recipe and a Vegan Salad recipe.", [("r", {"dish": "Chicken Noodle Soup"})]),
    ],
)
def test_an_enumeration_or_a_cue_word_asks_for_another_call(
    request_text: str, calls: list[tuple[str, dict[str, Any]]]
) -> None:
    assert asks_for_several(request_text, calls)


@pytest.mark.parametrize(
    ("request_text", "calls"),
    [
        # one call's values, however they are joined
        ("A triangle with a base of 10 units and height of 5 units.", [("area", {"base": 10, "height": 5})]),
        ("The distance between New York and Los Angeles.", [("d", {"a": "New York", "b": "Los Angeles"})]),
        ("The weather in Seattle, Washington.", [("weather", {"city": "Seattle"})]),  # one place
        ("Temperature and humidity in Miami", [("weather", {"city": "Miami"})]),  # no value joined
        ("Factorials of 5, 7 and 9", [("f", {"n": 5}), ("f", {"n": 7}), ("f", {"n": 9})]),  # all used
        # a cue word asks for a second call, not a third
        ("Weather in Oslo and Rome, respectively.", [("w", {"city": "Oslo"}), ("w", {"city": "Rome"})]),
        ("The mean of the numbers", []),
        # a count of things bounds the calls, whatever else the words say
        ("The area of two circles of radius 5, 10 and 15", [("area", {"r": 5}), ("area", {"r": 10})]),
        # ordinals ask for as many calls as the highest, and only beside "first"
        (
            "The first house is in Oslo, the second in Rome.",
            [("price", {"city": "Oslo"}), ("price", {"city": "Rome"})],
        ),
        ("Book the second room on the left.", [("book", {"room": "left"})]),
        ("Proteins of the nucleus, and can you describe them?", [("p", {"compartment": "nucleus"})]),
        # the word after a value: once per call at most, and never right after a value a call used
        (
            "A Chicken Noodle Soup recipe and a Vegan Salad recipe.",
            [("r", {"dish": "Chicken Noodle Soup"}), ("r", {"dish": "Vegan Salad"})],
        ),
        (
            "The Chicken Soup and the Vegan Salad recipe, from the recipe site.",
            [("r", {"dish": "Chicken Soup"}), ("r", {"dish": "Vegan Salad"})],
        ),  # "recipe" is written twice: two calls, not a third
        (
            "The winner when John having 8, 10 and Mike having 9, 11.",
            [("poker", {"player1": "John", "player2": "Mike"})],
        ),
        # the value after the joiner is one a call used, or a word after digits
        (
            "'Queens Hotel' from March 10, 2022 and for 'Royal Hotel' from April 5, 2022",
            [
                ("h", {"hotel": "Queens Hotel", "from": "2022"}),
                ("h", {"hotel": "Royal Hotel", "from": "2022"}),
            ],
        ),
    ],
)
def test_a_single_request_or_a_used_up_enumeration_asks_for_no_more(
    request_text: str, calls: list[tuple[str, dict[str, Any]]]
) -> None:
    assert not asks_for_several(request_text, calls)


def test_the_count_signal_stays_linear_in_the_request() -> None:
    calls = [("f", {"n": 1, "s": "x"})]
    small, large = "1 and x, " * 200, "1 and x, " * 2000
    started = time.process_time()
    asks_for_several(small, calls)
    small_seconds = time.process_time() - started
    started = time.process_time()
    asks_for_several(large, calls)
    large_seconds = time.process_time() - started
    # the text is cut at MAX_TEXT_CHARS; past it, the cost must not grow at all, let alone squarely
    assert large_seconds < 20 * max(small_seconds, 1e-4)


ARTIST = object_tool("play", artist="string", minutes="integer")


def _advanced(question: str, first: tuple[str, dict[str, Any]], spec: ToolSpec = ARTIST) -> str | None:
    return build_grammar(
        [spec],
        tool_choice="required",
        calls=(1, 1),
        request_text=question,
        previous_calls=[first],
        advance=True,
    )


def test_an_advancing_call_may_move_a_string_forward_through_the_request() -> None:
    question = "Play Taylor Swift and Maroon 5 for 20 minutes each."
    grammar = _advanced(question, ("play", {"artist": "Taylor Swift", "minutes": 20}))
    assert grammar is not None
    assert admits(grammar, call_text("play", {"artist": "Maroon 5", "minutes": 20}))
    assert not admits(grammar, call_text("play", {"artist": "Taylor Swift", "minutes": 20}))  # the repeat
    assert not admits(grammar, call_text("play", {"artist": "Play Taylor", "minutes": 20}))  # before it


def test_no_advancing_call_when_the_request_asks_for_one() -> None:
    question = "Play Taylor Swift for 20 minutes, with the volume up."
    assert _advanced(question, ("play", {"artist": "Taylor Swift", "minutes": 20})) is None


def test_the_reply_ends_when_the_request_asks_for_no_further_call() -> None:
    from tests.unit.test_local_decisions import _loop

    oslo, rome, bonn = (call_text("get_weather", {"city": c}) for c in ("Oslo", "Rome", "Bonn"))
    request = "Weather in Oslo and Rome"
    asked: list[int] = []

    def wants_more(previous: Any) -> bool:
        asked.append(len(previous))
        return asks_for_several(request, previous)

    out, seen = _loop([oslo, rome, bonn], [-9.0, -9.0, -9.0], wants_more=wants_more)
    # the model's log-odds would go on to Bonn; the request's enumeration ends after Rome
    assert out.text == oslo + "\n" + rome and out.counted and asked == [1, 2] and len(seen) == 2
    free, _ = _loop([oslo, rome, bonn], [-9.0, -9.0, 9.0])
    assert free.text.count("<tool_call>") == 3 and not free.counted


FLIGHT = object_tool("book", origin="string", destination="string")


def _next_call(spec: ToolSpec, question: str, first: tuple[str, dict[str, Any]]) -> str:
    return one_call_grammar(spec, question, [first])


def test_a_name_gives_way_when_a_new_name_is_written_after_the_calls_values() -> None:
    question = "Book a flight from San Francisco to Tokyo, and another from Tokyo to Sydney."
    grammar = _next_call(FLIGHT, question, ("book", {"origin": "San Francisco", "destination": "Tokyo"}))
    assert admits(grammar, call_text("book", {"origin": "Tokyo", "destination": "Sydney"}))
    # the names may not stay, not even as the same name written again later
    assert not admits(grammar, call_text("book", {"origin": "San Francisco", "destination": "Sydney"}))
    assert not admits(grammar, call_text("book", {"origin": "Tokyo", "destination": "Tokyo"}))
    assert not admits(grammar, call_text("book", {"origin": "Tokyo", "destination": "Tokyo to Sydney"}))


def test_a_name_stays_when_no_new_name_follows() -> None:
    actor = object_tool("movies", actor="string", year="integer")
    question = "Movies that Leonardo DiCaprio starred in 2010 and 2012 respectively."
    grammar = _next_call(actor, question, ("movies", {"actor": "Leonardo DiCaprio", "year": 2010}))
    assert admits(grammar, call_text("movies", {"actor": "Leonardo DiCaprio", "year": 2012}))
    # a capitalised word that starts a sentence is no new name
    lawsuits = object_tool("cases", company="string", year="integer")
    question = (
        "Cases against 'Dara Inc' filed in 2019, Also list cases filed in 2018 against the same company."
    )
    grammar = _next_call(lawsuits, question, ("cases", {"company": "Dara Inc", "year": 2019}))
    assert admits(grammar, call_text("cases", {"company": "Dara Inc", "year": 2018}))


def test_a_lowercase_value_gives_way_when_a_word_beside_it_is_written_again_later() -> None:
    traffic = object_tool("traffic", start="string", mode="string")
    question = (
        "Traffic from Oslo using driving as the method, then from Bergen using bicycling as the method."
    )
    grammar = _next_call(traffic, question, ("traffic", {"start": "Oslo", "mode": "driving"}))
    assert admits(grammar, call_text("traffic", {"start": "Bergen", "mode": "bicycling"}))
    assert not admits(grammar, call_text("traffic", {"start": "Bergen", "mode": "driving"}))
    events = object_tool("events", genre="string", days="integer")
    question = "Upcoming jazz events for the next 14 days, then rock events for the next 10 days."
    grammar = _next_call(events, question, ("events", {"genre": "jazz", "days": 14}))
    assert admits(grammar, call_text("events", {"genre": "rock", "days": 10}))
    assert not admits(grammar, call_text("events", {"genre": "jazz", "days": 10}))


def test_a_lowercase_value_may_stay_when_no_word_beside_it_comes_again() -> None:
    distance = object_tool("distance", a="string", b="string", unit="string")
    question = "The distance in miles from Oslo to Rome, and then from Rome to Paris."
    grammar = _next_call(distance, question, ("distance", {"a": "Oslo", "b": "Rome", "unit": "miles"}))
    assert admits(grammar, call_text("distance", {"a": "Rome", "b": "Paris", "unit": "miles"}))


def test_a_percentage_is_its_fraction_unless_the_schema_wants_an_integer() -> None:
    loan = object_tool("loan", required=("rate",), rate="number", percent="integer")
    grammar = build_grammar([loan], tool_choice="required", request_text="A loan at 4% interest")
    assert grammar is not None
    assert admits(grammar, call_text("loan", {"rate": 0.04, "percent": 4}))
    assert not admits(grammar, call_text("loan", {"rate": 4}))


BMI = object_tool("bmi", height="number", weight="number")


def test_moved_numbers_keep_the_order_their_arguments_were_written_in() -> None:
    question = "BMI of a person 6 feet tall who weighs 80 kg, also for one 5.6 feet tall who weighs 60 kg."
    grammar = _advanced(question, ("bmi", {"height": 6, "weight": 80}), BMI)
    assert grammar is not None
    assert admits(grammar, call_text("bmi", {"height": 5.6, "weight": 60}))
    assert not admits(grammar, call_text("bmi", {"height": 60, "weight": 60}))  # the weight's number
    assert not admits(grammar, call_text("bmi", {"height": 60, "weight": 5.6}))  # the order swapped


def test_numbers_move_on_with_the_call_when_the_request_writes_enough_after_it() -> None:
    tax = object_tool("tax", short="integer", long="integer", state="string")
    question = "Tax on $15000 short term and $25000 long term in California, and $20000, $50000 in Florida."
    first = ("tax", {"short": 15000, "long": 25000, "state": "California"})
    grammar = _next_call(tax, question, first)
    assert admits(grammar, call_text("tax", {"short": 20000, "long": 50000, "state": "Florida"}))
    assert not admits(grammar, call_text("tax", {"short": 15000, "long": 25000, "state": "Florida"}))
    # too few numbers after the first call's values: a number may stay
    fewer = "Tax on $15000 short term and $25000 long term in California, and $20000 short term in Florida."
    grammar = _next_call(tax, fewer, first)
    assert admits(grammar, call_text("tax", {"short": 20000, "long": 25000, "state": "Florida"}))


LOAN = object_tool("loan", amount="integer", rate="number", years="integer")


def test_a_value_written_once_serves_one_argument() -> None:
    question = "Monthly payment on a loan of $400,000 at 4% over 30 years"
    shared = ("loan", {"amount": 400000, "rate": 400000, "years": 30})
    grammar = build_grammar([LOAN], tool_choice="required", request_text=question, distinct=shared)
    assert grammar is not None
    assert admits(grammar, call_text("loan", {"amount": 400000, "rate": 0.04, "years": 30}))
    assert not admits(grammar, call_text("loan", shared[1]))
    # the model chooses which argument keeps the value (the amount then takes another number, never
    # the 30 the request labels for years)
    assert admits(grammar, call_text("loan", {"amount": 4, "rate": 400000, "years": 30}))
    assert not admits(grammar, call_text("loan", {"amount": 30, "rate": 400000, "years": 30}))
    # a value written twice may serve two arguments, and a call sharing nothing is not decoded again
    twice = "A loan of 30 thousand over 30 years"
    assert build_grammar([LOAN], request_text=twice, distinct=("loan", {"amount": 30, "years": 30})) is None
    plain = ("loan", {"amount": 400000, "rate": 0.04, "years": 30})
    assert build_grammar([LOAN], request_text=question, distinct=plain) is None


def test_a_call_sharing_a_value_is_decoded_again_and_replaced() -> None:
    from tests.unit.test_local_decisions import _loop

    bad, good = (call_text("get_weather", {"city": "Oslo", "region": r}) for r in ("Oslo", "Viken"))
    asked: list[Any] = []

    def distinct_for(previous: Any, call: Any) -> Any:
        asked.append(call)
        return "barred" if call[1]["region"] == call[1]["city"] else None

    out, seen = _loop([bad, good], [9.0], distinct_for=distinct_for)
    assert out.text == good and out.distinct == 1 and seen == [[], "barred"]
    assert asked == [("get_weather", {"city": "Oslo", "region": "Oslo"})]  # the new call is kept as it is


def test_a_repeat_moves_a_number_on_past_its_own_value_when_nothing_follows_all_values() -> None:
    alimony = object_tool("alimony", payor="integer", recipient="integer", years="integer")
    question = "Alimony for the next 10 years and 20 years if the incomes are $10,000 and $3,000."
    first = ("alimony", {"payor": 10000, "recipient": 3000, "years": 10})
    grammar = _advanced(question, first, alimony)
    assert grammar is not None
    assert admits(grammar, call_text("alimony", {"payor": 10000, "recipient": 3000, "years": 20}))
    assert not admits(grammar, call_text("alimony", first[1]))
    assert not admits(grammar, call_text("alimony", {"payor": 10000, "recipient": 3000, "years": 3000}))


def test_numbers_stay_when_the_last_call_left_out_a_number_argument() -> None:
    player = object_tool("status", required=("player",), player="integer", season="integer")
    question = "Has player 3142 been top scorer in seasons 2017, 2018 and 2019?"
    grammar = _next_call(player, question, ("status", {"player": 3142}))
    assert admits(grammar, call_text("status", {"player": 3142, "season": 2018}))


def test_a_later_span_starts_after_the_previous_value_not_inside_it() -> None:
    forest = object_tool("growth", location="string", years="integer")
    question = "Forest growth in the Amazon Rainforest and the Boreal Forests of Canada over 10 and 20 years"
    grammar = _next_call(forest, question, ("growth", {"location": "Boreal Forests of Canada", "years": 10}))
    assert not admits(grammar, call_text("growth", {"location": "Forests of Canada", "years": 20}))
    assert admits(grammar, call_text("growth", {"location": "Boreal Forests of Canada", "years": 20}))


def test_a_later_span_is_of_the_kind_of_the_value_before_it() -> None:
    rain = object_tool("rain", location="string", period="string")
    question = (
        "Rain in the Amazon Rainforest for the last six months. After that, the same for the last year."
    )
    grammar = _next_call(rain, question, ("rain", {"location": "Amazon Rainforest", "period": "six months"}))
    assert admits(grammar, call_text("rain", {"location": "Amazon Rainforest", "period": "year"}))
    assert not admits(grammar, call_text("rain", {"location": "year", "period": "year"}))  # not capitalised
    # nor a clause, nor a sentence's first word
    assert not admits(grammar, call_text("rain", {"location": "After that", "period": "year"}))
    assert not admits(
        grammar, call_text("rain", {"location": "Amazon Rainforest", "period": "same for the last year"})
    )


def test_numbers_move_on_past_the_numbers_not_past_a_string_written_at_the_end() -> None:
    bmi = object_tool("bmi", required=("weight", "height"), weight="integer", height="integer", unit="string")
    question = "BMI of one person of 85 kg and 175 cm and one of 60 kg and 160 cm, in the metric system."
    grammar = _next_call(bmi, question, ("bmi", {"weight": 85, "height": 175, "unit": "metric"}))
    assert admits(grammar, call_text("bmi", {"weight": 60, "height": 160, "unit": "metric"}))
    assert not admits(grammar, call_text("bmi", {"weight": 85, "height": 175, "unit": "system"}))


def test_moving_numbers_take_the_next_numbers_not_a_later_calls() -> None:
    house = object_tool("price", bedrooms="integer", bathrooms="integer", area="integer")
    question = (
        "The first house has 3 bedrooms, 2 bathrooms and 1500 square feet. The second has 4 bedrooms, "
        "3 bathrooms and 2000 square feet. The third has 2 bedrooms, 1 bathroom and 1800 square feet."
    )
    grammar = _next_call(house, question, ("price", {"bedrooms": 3, "bathrooms": 2, "area": 1500}))
    assert admits(grammar, call_text("price", {"bedrooms": 4, "bathrooms": 3, "area": 2000}))
    assert not admits(grammar, call_text("price", {"bedrooms": 4, "bathrooms": 3, "area": 1800}))


def test_a_first_call_takes_numbers_from_the_front_when_the_request_asks_for_several() -> None:
    person = object_tool("diabetes", weight="integer", height="integer")
    question = (
        "Predict type 2 diabetes for three people. The first weighs 180 lbs and is 70 inches tall, the "
        "second weighs 200 lbs and is 65 inches tall, the third weighs 150 lbs and is 72 inches tall."
    )
    grammar = build_grammar([person], tool_choice="required", calls=(1, 1), request_text=question)
    assert grammar is not None
    assert admits(grammar, call_text("diabetes", {"weight": 180, "height": 70}))
    assert not admits(grammar, call_text("diabetes", {"weight": 180, "height": 200}))  # the second's weight
    # one request: every number stays open
    single = "Type 2 diabetes for one of 180 lbs, 70 inches tall, who sleeps 8 hours and walks 200 steps."
    grammar = build_grammar([person], tool_choice="required", calls=(1, 1), request_text=single)
    assert grammar is not None and admits(grammar, call_text("diabetes", {"weight": 180, "height": 200}))
