"""Words the population is made of. Common names, so no invented person stands out."""

from __future__ import annotations

FIRST_NAMES = tuple(
    """
    James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara
    Richard Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy
    Matthew Betty Anthony Sandra Mark Margaret Donald Ashley Steven Kimberly Andrew Emily
    Paul Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian Melissa George Deborah
    Timothy Stephanie Ronald Rebecca Jason Sharon Edward Laura Jeffrey Cynthia Ryan Amy
    Jacob Kathleen Gary Angela Nicholas Shirley Eric Brenda Jonathan Emma Stephen Anna
    Larry Pamela Justin Nicole Scott Samantha Brandon Katherine Benjamin Christine Samuel
    Helen Gregory Debra Alexander Rachel Patrick Carolyn Frank Janet Raymond Maria Jack
    Olivia Dennis Heather Jerry Diane Tyler Julie Aaron Joyce Jose Victoria Adam Ruth
    Nathan Virginia Henry Lauren Zachary Kelly Douglas Christina Peter Joan Kyle Evelyn
    Noah Judith Ethan Andrea Jeremy Hannah Walter Megan Christian Cheryl Keith Jacqueline
    Roger Martha Terry Madison Austin Teresa Sean Gloria Gerald Sara Carl Janice Harold Ann
    Dylan Kathryn Arthur Abigail Lawrence Sophia Jordan Frances Jesse Jean Bryan Alice
    Billy Judy Bruce Isabella Gabriel Julia Joe Grace Logan Amber Alan Denise Juan Danielle
    Wei Mei Hiroshi Yuki Priya Arjun Fatima Omar Aisha Mohammed Carmen Luis Sofia Diego
    """.split()  # noqa: SIM905 - a word list reads best as text
)
LAST_NAMES = tuple(
    """
    Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez
    Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson
    White Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott
    Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter
    Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart
    Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed
    Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood James Bennett Gray
    Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Long Ross Foster Jimenez
    Powell Jenkins Perry Russell Sullivan Bell Coleman Butler Henderson Barnes Gonzales
    Fisher Vasquez Simmons Romero Jordan Patterson Alexander Hamilton Graham Reynolds
    Griffin Wallace Moreno West Cole Hayes Bryant Herrera Gibson Ellis Tran Medina Aguilar
    Stevens Murray Ford Castro Marshall Owens Harrison Fernandez McDonald Woods Washington
    Kennedy Wells Vargas Henry Chen Freeman Webb Tucker Guzman Burns Crawford Olson Simpson
    Porter Hunter Gordon Mendez Silva Shaw Snyder Mason Dixon Munoz Hunt Hicks Holmes
    Palmer Wagner Black Robertson Boyd Rose Stone Salazar Fox Warren Mills Meyer Rice
    O'Brien Schmidt Garza Daniels Ferguson Nichols Stephens Soto Weaver Ryan Gardner Payne
    """.split()  # noqa: SIM905 - a word list reads best as text
)
STREETS = tuple(
    """
    Main Oak Maple Cedar Pine Elm Washington Lake Hill Park Walnut Sunset Jefferson Lincoln
    Jackson Highland Church Spring Ridge River Chestnut Meadow Forest Willow Franklin Adams
    Madison Center Mill Valley Cherry Hickory Railroad Dogwood Magnolia Birch Prospect Union
    """.split()  # noqa: SIM905 - a word list reads best as text
)
STREET_KINDS = ("St", "Ave", "Rd", "Dr", "Ln", "Blvd", "Ct", "Way", "Pl", "Ter")
TOWNS = tuple(
    """
    Springfield Riverton Fairview Georgetown Salem Franklin Clinton Greenville Madison
    Bristol Oakland Ashland Milton Newport Centerville Dayton Lexington Burlington Jackson
    Auburn Dover Hudson Kingston Manchester Marion Oxford Arlington Chester Winchester Lebanon
    """.split()  # noqa: SIM905 - a word list reads best as text
)
EMAIL_DOMAINS = ("example.com", "example.net", "example.org", "mail.example", "inbox.example")
"""Reserved for documentation (RFC 2606), so no mail can reach a real person."""
COMPANY_WORDS = (
    "Acme", "Summit", "Harbor", "Pioneer", "Keystone", "Granite", "Evergreen", "Bluewater",
    "Ironwood", "Northstar", "Redwood", "Silverline", "Crescent", "Lakeshore", "Meridian",
)  # fmt: skip
COMPANY_KINDS = ("Logistics", "Construction", "Plumbing", "Couriers", "Health", "Security")
