"""Static vocabularies the generator samples from: names, places, phone formats, domains, clients.

Kept as plain data so that realism can be reviewed (and extended) without touching the logic.
Phone and postcode templates use ``9`` for a random digit, ``A`` for a random capital letter and
``N`` for one digit of the person's subscriber number.
"""

from __future__ import annotations

from dataclasses import dataclass

# ---------------------------------------------------------------------------------------------
# Names per culture: (male first names, female first names, surnames [male form, female form])
# ---------------------------------------------------------------------------------------------

EN_MALE = (
    "James Robert John Michael William David Richard Joseph Thomas Charles Christopher Daniel "
    "Matthew Anthony Mark Steven Andrew Joshua Kevin Brian George Edward Ronald Timothy Jason "
    "Jeffrey Ryan Jacob Gary Nicholas Eric Jonathan Stephen Justin Scott Benjamin Samuel Patrick "
    "Alexander Oliver Harry Jack Liam Noah Ethan Henry Owen Declan Connor"
).split()
EN_FEMALE = (
    "Mary Patricia Jennifer Linda Elizabeth Barbara Susan Jessica Sarah Karen Nancy Lisa Margaret "
    "Sandra Ashley Kimberly Emily Donna Michelle Carol Amanda Melissa Deborah Stephanie Rebecca "
    "Laura Sharon Katherine Amy Angela Anna Emma Olivia Sophie Charlotte Amelia Isla Zoë Renée "
    "Siobhán Chloë Grace Hannah Megan Lauren Abigail Victoria Rachel Natalie"
).split()
EN_LAST = (
    "Smith Johnson Williams Brown Jones Miller Davis Wilson Anderson Taylor Thomas Moore Jackson "
    "Martin Lee Thompson White Harris Clark Lewis Robinson Walker Young Allen King Wright Scott "
    "Hill Green Adams Baker Nelson Carter Mitchell Roberts Turner Phillips Campbell Parker Evans "
    "Edwards Collins Stewart Morris Murphy Cook Rogers O'Brien O'Connor McDonald Kelly Hughes "
    "Price Bennett Wood Barnes Ross Henderson Coleman Jenkins Perry Powell Patterson Fitzgerald "
    "Sullivan Gallagher Doyle Walsh Byrne Ryan Kennedy Graham Murray Hamilton Watson Reid Fraser"
).split()

ES_MALE = (
    "José Juan Antonio Manuel Francisco David Javier Carlos Jesús Miguel Pedro Alejandro Rafael "
    "Fernando Pablo Sergio Jorge Alberto Raúl Álvaro Andrés Iñigo Joaquín Ramón Óscar Rubén Iker "
    "Martín Diego Adrián Hugo Mateo Gonzalo Ignacio Víctor Emilio"
).split()
ES_FEMALE = (
    "María Carmen Ana Isabel Laura Cristina Marta Lucía Elena Sara Paula Raquel Rosa Pilar "
    "Beatriz Nuria Sofía Inés Begoña Mónica Verónica Ángela Natalia Silvia Irene Noelia "
    "Montserrat Rocío Dolores Alba Claudia Andrea Julia Valeria Ximena Guadalupe"
).split()
ES_LAST = (
    "García Rodríguez González Fernández López Martínez Sánchez Pérez Gómez Martín Jiménez Ruiz "
    "Hernández Díaz Moreno Muñoz Álvarez Romero Alonso Gutiérrez Navarro Torres Domínguez "
    "Vázquez Ramos Gil Ramírez Serrano Blanco Molina Morales Suárez Ortega Delgado Castro Ortiz "
    "Rubio Marín Sanz Núñez Iglesias Medina Garrido Cortés Castillo Santos Lozano Guerrero Cano "
    "Prieto Méndez Cruz Calvo Gallego Vidal León Márquez Herrera Peña Flores Cabrera Campos Vega "
    "Fuentes Carrasco Caballero Reyes Aguilar Ibáñez Ferrer Durán Benítez Vargas Arias Soto"
).split()

FR_MALE = (
    "Jean Pierre Michel André Philippe Louis Nicolas François Laurent Stéphane Julien Sébastien "
    "Thomas Hugo Théo Jérôme Frédéric Benoît Gaël Noël Loïc Raphaël Clément Maxime Antoine "
    "Guillaume Étienne Mathis Adrien Cédric"
).split()
FR_FEMALE = (
    "Marie Nathalie Isabelle Sylvie Catherine Françoise Valérie Christine Sophie Céline Chloé Léa "
    "Manon Camille Inès Zoë Héloïse Amélie Élodie Margaux Émilie Aurélie Anaïs Maëlle Noémie "
    "Océane Hélène Mélanie Agnès Brigitte"
).split()
FR_LAST = (
    "Martin,Bernard,Dubois,Thomas,Robert,Richard,Petit,Durand,Leroy,Moreau,Simon,Laurent,Lefèvre,"
    "Michel,David,Bertrand,Roux,Vincent,Fournier,Morel,Girard,André,Lefebvre,Mercier,Dupont,"
    "Lambert,Bonnet,Legrand,Garnier,Faure,Rousseau,Blanc,Guérin,Muller,Henry,Roussel,Perrin,"
    "Morin,Mathieu,Clément,Gauthier,Dumont,Fontaine,Chevalier,Robin,Masson,Gérard,Nguyen,Boyer,"
    "Denis,Lemaire,Duval,Joly,Roche,Noël,Meyer,Lucas,Meunier,Marchand,Dufour,Blanchard,Barbier,"
    "Brun,Dumas,Brunet,Leroux,Colin,Renard,Arnaud,Caron,Aubert,Giraud,Leclerc,Ménard,Prévost,"
    "Rivière,Le Gall,Da Silva,Carré,Rémy,Saint-Just"
).split(",")

DE_MALE = (
    "Peter Michael Thomas Andreas Wolfgang Klaus Jürgen Stefan Christian Uwe Werner Frank Bernd "
    "Matthias Markus Jörg Günter Horst Sven Lukas Jonas Leon Felix Maximilian Moritz Tobias Björn "
    "Dieter Sönke Florian Sebastian Niklas"
).split()
DE_FEMALE = (
    "Ursula Monika Petra Sabine Renate Helga Karin Brigitte Ingrid Andrea Claudia Susanne Birgit "
    "Gabriele Julia Anna Lena Lea Hannah Jana Katharina Käthe Bärbel Jördis Franziska Sarah "
    "Laura Johanna Mia Charlotte Anke Heike"
).split()
DE_LAST = (
    "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Schäfer Koch Bauer "
    "Richter Klein Wolf Schröder Neumann Schwarz Zimmermann Braun Krüger Hofmann Hartmann Lange "
    "Schmitt Werner Schmitz Krause Meier Lehmann Schmid Schulze Maier Köhler Herrmann König "
    "Walter Mayer Huber Kaiser Fuchs Peters Lang Scholz Möller Weiß Jung Hahn Schubert Vogel "
    "Friedrich Keller Günther Frank Berger Winkler Roth Beck Lorenz Baumann Franke Albrecht "
    "Schuster Böhm Winter Kraus Schumacher Krämer Vogt Stein Jäger Otto Sommer Groß Seidel "
    "Heinrich Brandt Haas Schreiber Graf Dietrich Ziegler Kuhn Kühn Engel Horn Busch Bergmann"
).split()

IT_MALE = (
    "Giuseppe Giovanni Antonio Mario Luigi Francesco Angelo Vincenzo Pietro Salvatore Carlo "
    "Franco Domenico Bruno Paolo Michele Giorgio Aldo Sergio Luca Marco Alessandro Andrea Matteo "
    "Lorenzo Niccolò Davide Simone Riccardo Stefano"
).split()
IT_FEMALE = (
    "Maria Anna Giuseppina Rosa Angela Giovanna Teresa Lucia Carmela Caterina Francesca "
    "Antonietta Carla Elena Chiara Giulia Sofia Aurora Alessia Martina Federica Valentina Silvia "
    "Beatrice Ginevra Noemi Elisa Paola Roberta Serena"
).split()
IT_LAST = [
    s.replace("_", " ")
    for s in (
        "Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci Marino Greco Bruno Gallo "
        "Conti De_Luca Mancini Costa Giordano Rizzo Lombardi Moretti Barbieri Fontana Santoro "
        "Mariani Rinaldi Caruso Ferrara Galli Martini Leone Longo Gentile Martinelli Vitale "
        "Lombardo Serra Coppola De_Santis D'Angelo Marchetti Parisi Villa Conte Ferri Fabbri "
        "Bianco Marini Grasso Valentini Messina Sala De_Angelis Gatti Pellegrini Palumbo Sanna "
        "Farina Rizzi Monti Cattaneo Morelli Amato Silvestri Mazza Testa D'Amico Sorrentino"
    ).split()
]

PT_MALE = (
    "João José Antônio Francisco Carlos Paulo Pedro Lucas Luiz Marcos Luís Gabriel Rafael Daniel "
    "Marcelo Bruno Eduardo Felipe Raimundo Rodrigo Sebastião Gonçalo Vinícius Caio Thiago "
    "Matheus Guilherme Leonardo Gustavo Otávio"
).split()
PT_FEMALE = (
    "Maria Ana Francisca Antônia Adriana Juliana Márcia Fernanda Patrícia Aline Sandra Camila "
    "Amanda Bruna Jéssica Letícia Júlia Luciana Vanessa Mariana Gabriela Beatriz Larissa "
    "Conceição Débora Raíssa Tânia Cecília Luana Lívia"
).split()
PT_LAST = (
    "Silva Santos Oliveira Souza Rodrigues Ferreira Alves Pereira Lima Gomes Costa Ribeiro "
    "Martins Carvalho Almeida Lopes Soares Fernandes Vieira Barbosa Rocha Dias Nascimento "
    "Andrade Moreira Nunes Marques Machado Mendes Freitas Cardoso Ramos Gonçalves Santana "
    "Teixeira Araújo Magalhães Conceição Assunção Brandão Monteiro Cavalcanti Pinto Moura Correia"
).split()

NL_MALE = (
    "Jan Johannes Hendrik Pieter Cornelis Willem Gerrit Jacobus Dirk Daan Sem Lucas Levi Finn "
    "Bram Thijs Ruben Joris Koen Sjoerd Maarten Wouter Jeroen Bas Niels"
).split()
NL_FEMALE = (
    "Maria Johanna Anna Cornelia Elisabeth Emma Julia Sophie Tess Sanne Lotte Fleur Anouk Femke "
    "Eva Noor Saskia Marloes Inge Ingrid Mirjam Esther Linda Marieke Iris"
).split()
NL_LAST = [
    s.replace("_", " ")
    for s in (
        "de_Jong Jansen de_Vries van_den_Berg van_Dijk Bakker Janssen Visser Smit Meijer de_Boer "
        "Mulder de_Groot Bos Vos Peters Hendriks van_Leeuwen Dekker Brouwer de_Wit Dijkstra "
        "Smits de_Graaf van_der_Meer van_der_Linden Kok Jacobs de_Haan Vermeulen van_den_Heuvel "
        "van_der_Veen van_den_Broek de_Bruijn van_der_Heijden Schouten van_Beek Willems "
        "van_Vliet Hoekstra Koster Prins Huisman Kuipers"
    ).split()
]

EL_MALE = (
    "Γιώργος Δημήτρης Κωνσταντίνος Γιάννης Νίκος Παναγιώτης Βασίλης Χρήστος Αθανάσιος Μιχάλης "
    "Ευάγγελος Σπύρος Αντώνης Ανδρέας Στέλιος Θανάσης Πέτρος Αλέξανδρος"
).split()
EL_FEMALE = (
    "Μαρία Ελένη Αικατερίνη Βασιλική Σοφία Αγγελική Γεωργία Δήμητρα Κωνσταντίνα Παρασκευή "
    "Χριστίνα Ευαγγελία Ιωάννα Αναστασία Δέσποινα Ειρήνη Αθηνά Φωτεινή"
).split()
# Greek surnames change with gender: (male form, female form)
EL_LAST_PAIRS = (
    ("Παπαδόπουλος", "Παπαδοπούλου"),
    ("Παπαγεωργίου", "Παπαγεωργίου"),
    ("Οικονόμου", "Οικονόμου"),
    ("Γεωργίου", "Γεωργίου"),
    ("Παπαδημητρίου", "Παπαδημητρίου"),
    ("Βασιλείου", "Βασιλείου"),
    ("Νικολάου", "Νικολάου"),
    ("Ιωάννου", "Ιωάννου"),
    ("Δημητρίου", "Δημητρίου"),
    ("Χριστοδούλου", "Χριστοδούλου"),
    ("Αντωνίου", "Αντωνίου"),
    ("Μακρής", "Μακρή"),
    ("Πετρόπουλος", "Πετροπούλου"),
    ("Καραγιάννης", "Καραγιάννη"),
    ("Αλεξίου", "Αλεξίου"),
    ("Λαμπρόπουλος", "Λαμπροπούλου"),
    ("Ζαχαρίου", "Ζαχαρίου"),
    ("Κωνσταντινίδης", "Κωνσταντινίδου"),
    ("Αθανασίου", "Αθανασίου"),
    ("Σταυρόπουλος", "Σταυροπούλου"),
)


def _same_form(names: list[str]) -> tuple[tuple[str, str], ...]:
    return tuple((n, n) for n in names)


CULTURES: dict[str, tuple[list[str], list[str], tuple[tuple[str, str], ...]]] = {
    "en": (EN_MALE, EN_FEMALE, _same_form(EN_LAST)),
    "es": (ES_MALE, ES_FEMALE, _same_form(ES_LAST)),
    "fr": (FR_MALE, FR_FEMALE, _same_form(FR_LAST)),
    "de": (DE_MALE, DE_FEMALE, _same_form(DE_LAST)),
    "it": (IT_MALE, IT_FEMALE, _same_form(IT_LAST)),
    "pt": (PT_MALE, PT_FEMALE, _same_form(PT_LAST)),
    "nl": (NL_MALE, NL_FEMALE, _same_form(NL_LAST)),
    "el": (EL_MALE, EL_FEMALE, EL_LAST_PAIRS),
}

# Short forms people use on less formal sources (webinar sign-ups, store checkouts).
NICKNAMES = {
    "Robert": ("Bob", "Rob", "Bobby"),
    "William": ("Bill", "Will", "Billy"),
    "Elizabeth": ("Liz", "Beth", "Lizzie"),
    "Margaret": ("Maggie", "Peggy"),
    "Richard": ("Rick", "Rich"),
    "James": ("Jim", "Jimmy", "Jamie"),
    "Michael": ("Mike", "Mick"),
    "Christopher": ("Chris",),
    "Jennifer": ("Jen", "Jenny"),
    "Katherine": ("Kate", "Kathy", "Katie"),
    "Thomas": ("Tom", "Tommy"),
    "Joseph": ("Joe",),
    "Daniel": ("Dan", "Danny"),
    "Matthew": ("Matt",),
    "Anthony": ("Tony",),
    "Steven": ("Steve",),
    "Andrew": ("Andy", "Drew"),
    "Joshua": ("Josh",),
    "Nicholas": ("Nick",),
    "Benjamin": ("Ben",),
    "Samuel": ("Sam",),
    "Alexander": ("Alex",),
    "Patricia": ("Pat", "Patty", "Trish"),
    "Deborah": ("Debbie", "Deb"),
    "Rebecca": ("Becky",),
    "Susan": ("Sue", "Susie"),
    "Kimberly": ("Kim",),
    "Stephanie": ("Steph",),
    "Edward": ("Ed", "Ted"),
    "Timothy": ("Tim",),
    "Jonathan": ("Jon",),
    "Jeffrey": ("Jeff",),
    "Ronald": ("Ron",),
    "Victoria": ("Vicky",),
    "Abigail": ("Abby",),
    "José": ("Pepe",),
    "Francisco": ("Paco", "Chico"),
    "Manuel": ("Manolo",),
    "Dolores": ("Lola",),
    "Giuseppe": ("Peppe",),
    "Alessandro": ("Alex",),
    "Maximilian": ("Max",),
    "Johannes": ("Hans",),
    "Γιώργος": ("Γιώργης",),
}

# ---------------------------------------------------------------------------------------------
# Countries
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Country:
    code: str
    name: str
    local_names: tuple[str, ...]  # how people type the country in free-text fields
    weight: float
    culture: str
    currency: str
    calling_code: str
    subscriber_digits: int
    national_formats: tuple[str, ...]  # N = next subscriber digit
    international_formats: tuple[str, ...]
    landline_format: str  # 9 = random digit
    postcode_format: str  # 9 digit, A letter
    cities: tuple[tuple[str, str, str], ...]  # (city, IANA zone, postcode prefix)
    streets: tuple[str, ...]
    street_format: str  # {no} {street}
    isp_domains: tuple[str, ...]
    tld: str


COUNTRIES: tuple[Country, ...] = (
    Country(
        "US", "United States", ("USA", "United States of America", "U.S."), 0.22, "en", "USD",
        "1", 10, ("(NNN) NNN-NNNN", "NNN-NNN-NNNN", "NNN.NNN.NNNN"),
        ("+1 NNN NNN NNNN", "+1-NNN-NNN-NNNN", "+1 (NNN) NNN-NNNN"), "(999) 555-9999", "99999",
        (
            ("New York", "America/New_York", "100"), ("Boston", "America/New_York", "021"),
            ("Atlanta", "America/New_York", "303"), ("Chicago", "America/Chicago", "606"),
            ("Austin", "America/Chicago", "787"), ("Denver", "America/Denver", "802"),
            ("Phoenix", "America/Phoenix", "850"), ("Los Angeles", "America/Los_Angeles", "900"),
            ("San Francisco", "America/Los_Angeles", "941"), ("Seattle", "America/Los_Angeles", "981"),
            ("Honolulu", "Pacific/Honolulu", "968"),
        ),
        ("Maple St", "Oak Ave", "Main St", "Washington Blvd", "Park Ave", "Cedar Ln", "Elm St",
         "Lakeview Dr", "Sunset Blvd", "Pine St"),
        "{no} {street}", ("comcast.net", "att.net", "verizon.net", "aol.com"), "com",
    ),
    Country(
        "GB", "United Kingdom", ("UK", "Great Britain", "England"), 0.11, "en", "GBP",
        "44", 9, ("07NNN NNNNNN", "07NNNNNNNNN", "07NNN-NNN-NNN"),
        ("+44 7NNN NNNNNN", "+447NNNNNNNNN", "+44 (0)7NNN NNNNNN"), "020 7999 9999", "AA9 9AA",
        (
            ("London", "Europe/London", "SW"), ("Manchester", "Europe/London", "M"),
            ("Birmingham", "Europe/London", "B"), ("Leeds", "Europe/London", "LS"),
            ("Glasgow", "Europe/London", "G"), ("Bristol", "Europe/London", "BS"),
        ),
        ("High Street", "Station Road", "Church Lane", "Victoria Road", "Mill Lane", "Queens Road"),
        "{no} {street}", ("btinternet.com", "sky.com", "virginmedia.com", "talktalk.net"), "co.uk",
    ),
    Country(
        "DE", "Germany", ("Deutschland", "Germany"), 0.11, "de", "EUR",
        "49", 9, ("01NN NNNNNNN", "01NN/NNNNNNN", "01NN-NNNNNNN"),
        ("+49 1NN NNNNNNN", "+491NNNNNNNNN", "0049 1NN NNNNNNN"), "030 9999999", "99999",
        (
            ("Berlin", "Europe/Berlin", "10"), ("München", "Europe/Berlin", "80"),
            ("Hamburg", "Europe/Berlin", "20"), ("Köln", "Europe/Berlin", "50"),
            ("Frankfurt am Main", "Europe/Berlin", "60"), ("Düsseldorf", "Europe/Berlin", "40"),
        ),
        ("Hauptstraße", "Schulstraße", "Bahnhofstraße", "Gartenweg", "Lindenallee", "Goethestraße"),
        "{street} {no}", ("gmx.de", "web.de", "t-online.de", "gmx.net", "freenet.de"), "de",
    ),
    Country(
        "FR", "France", ("France",), 0.09, "fr", "EUR",
        "33", 9, ("0N NN NN NN NN", "0NNNNNNNNN", "0N.NN.NN.NN.NN"),
        ("+33 N NN NN NN NN", "+33NNNNNNNNN", "+33 (0)N NN NN NN NN"), "01 99 99 99 99", "99999",
        (
            ("Paris", "Europe/Paris", "75"), ("Lyon", "Europe/Paris", "69"),
            ("Marseille", "Europe/Paris", "13"), ("Toulouse", "Europe/Paris", "31"),
            ("Nantes", "Europe/Paris", "44"), ("Lille", "Europe/Paris", "59"),
        ),
        ("rue de la Paix", "avenue Victor Hugo", "rue Pasteur", "boulevard Voltaire",
         "rue de l'Église", "place de la République"),
        "{no} {street}", ("orange.fr", "free.fr", "laposte.net", "wanadoo.fr", "sfr.fr"), "fr",
    ),
    Country(
        "ES", "Spain", ("España", "Spain"), 0.09, "es", "EUR",
        "34", 9, ("NNN NN NN NN", "NNN NNN NNN", "NNNNNNNNN"),
        ("+34 NNN NN NN NN", "+34 NNN NNN NNN", "0034 NNN NNN NNN"), "91 999 99 99", "99999",
        (
            ("Madrid", "Europe/Madrid", "28"), ("Barcelona", "Europe/Madrid", "08"),
            ("Valencia", "Europe/Madrid", "46"), ("Sevilla", "Europe/Madrid", "41"),
            ("Bilbao", "Europe/Madrid", "48"), ("Las Palmas de Gran Canaria", "Atlantic/Canary", "35"),
        ),
        ("Calle Mayor", "Calle Real", "Avenida de la Constitución", "Calle del Sol", "Paseo del Prado",
         "Calle de Alcalá"),
        "{street}, {no}", ("telefonica.net", "movistar.es", "ono.com"), "es",
    ),
    Country(
        "IT", "Italy", ("Italia", "Italy"), 0.07, "it", "EUR",
        "39", 9, ("3NN NNN NNNN", "3NNNNNNNNN", "3NN-NNNNNNN"),
        ("+39 3NN NNN NNNN", "+393NNNNNNNNN", "0039 3NN NNNNNNN"), "06 9999 9999", "99999",
        (
            ("Roma", "Europe/Rome", "00"), ("Milano", "Europe/Rome", "20"),
            ("Napoli", "Europe/Rome", "80"), ("Torino", "Europe/Rome", "10"),
            ("Bologna", "Europe/Rome", "40"), ("Firenze", "Europe/Rome", "50"),
        ),
        ("Via Roma", "Via Garibaldi", "Corso Italia", "Via Dante", "Piazza della Libertà", "Via Verdi"),
        "{street} {no}", ("libero.it", "virgilio.it", "tiscali.it", "alice.it"), "it",
    ),
    Country(
        "NL", "Netherlands", ("Nederland", "The Netherlands", "Holland"), 0.05, "nl", "EUR",
        "31", 8, ("06-NNNNNNNN", "06 NNNNNNNN", "06NNNNNNNN"),
        ("+31 6 NNNNNNNN", "+316NNNNNNNN", "0031 6 NNNN NNNN"), "020-9999999", "9999 AA",
        (
            ("Amsterdam", "Europe/Amsterdam", "10"), ("Rotterdam", "Europe/Amsterdam", "30"),
            ("Utrecht", "Europe/Amsterdam", "35"), ("Den Haag", "Europe/Amsterdam", "25"),
            ("Eindhoven", "Europe/Amsterdam", "56"),
        ),
        ("Kerkstraat", "Dorpsstraat", "Molenweg", "Stationsweg", "Prinsengracht", "Julianalaan"),
        "{street} {no}", ("ziggo.nl", "kpnmail.nl", "hetnet.nl", "planet.nl"), "nl",
    ),
    Country(
        "GR", "Greece", ("Ελλάδα", "Greece", "Hellas"), 0.04, "el", "EUR",
        "30", 8, ("69N NNN NNNN", "69NNNNNNNN", "69N-NNN-NNNN"),
        ("+30 69N NNN NNNN", "+3069NNNNNNNN", "0030 69N NNNNNNN"), "210 999 9999", "999 99",
        (
            ("Αθήνα", "Europe/Athens", "10"), ("Θεσσαλονίκη", "Europe/Athens", "54"),
            ("Πάτρα", "Europe/Athens", "26"), ("Ηράκλειο", "Europe/Athens", "71"),
        ),
        ("Ερμού", "Σταδίου", "Πανεπιστημίου", "Αιόλου", "Ακαδημίας", "Τσιμισκή"),
        "{street} {no}", ("otenet.gr", "hol.gr", "yahoo.gr"), "gr",
    ),
    Country(
        "BR", "Brazil", ("Brasil", "Brazil"), 0.07, "pt", "BRL",
        "55", 11, ("(NN) NNNNN-NNNN", "NN NNNNN-NNNN", "(NN)NNNNNNNNN"),
        ("+55 NN NNNNN NNNN", "+55 (NN) NNNNN-NNNN", "+55NNNNNNNNNNN"), "(11) 3999-9999",
        "99999-999",
        (
            ("São Paulo", "America/Sao_Paulo", "01"), ("Rio de Janeiro", "America/Sao_Paulo", "20"),
            ("Belo Horizonte", "America/Sao_Paulo", "30"), ("Recife", "America/Recife", "50"),
            ("Fortaleza", "America/Fortaleza", "60"), ("Manaus", "America/Manaus", "69"),
        ),
        ("Rua das Flores", "Avenida Paulista", "Rua São João", "Rua XV de Novembro",
         "Avenida Atlântica", "Rua da Conceição"),
        "{street}, {no}", ("uol.com.br", "bol.com.br", "terra.com.br", "ig.com.br"), "com.br",
    ),
    Country(
        "CA", "Canada", ("Canada", "CA"), 0.06, "en", "CAD",
        "1", 10, ("(NNN) NNN-NNNN", "NNN-NNN-NNNN", "NNN NNN NNNN"),
        ("+1 NNN NNN NNNN", "+1-NNN-NNN-NNNN", "1-NNN-NNN-NNNN"), "(999) 555-9999", "A9A 9A9",
        (
            ("Toronto", "America/Toronto", "M"), ("Montréal", "America/Toronto", "H"),
            ("Vancouver", "America/Vancouver", "V"), ("Calgary", "America/Edmonton", "T"),
            ("Winnipeg", "America/Winnipeg", "R"), ("Halifax", "America/Halifax", "B"),
        ),
        ("King St W", "Queen St E", "Yonge St", "Rue Sainte-Catherine", "Main St", "Robson St"),
        "{no} {street}", ("rogers.com", "shaw.ca", "sympatico.ca", "videotron.ca"), "ca",
    ),
    Country(
        "AU", "Australia", ("Australia", "AUS"), 0.05, "en", "AUD",
        "61", 8, ("04NN NNN NNN", "04NNNNNNNN", "04NN-NNN-NNN"),
        ("+61 4NN NNN NNN", "+614NNNNNNNN", "+61 (0)4NN NNN NNN"), "(02) 9999 9999", "9999",
        (
            ("Sydney", "Australia/Sydney", "2"), ("Melbourne", "Australia/Melbourne", "3"),
            ("Brisbane", "Australia/Brisbane", "4"), ("Perth", "Australia/Perth", "6"),
            ("Adelaide", "Australia/Adelaide", "5"),
        ),
        ("George St", "Collins St", "Queen St", "Hay St", "King William St", "Bourke St"),
        "{no} {street}", ("bigpond.com", "optusnet.com.au", "iinet.net.au"), "com.au",
    ),
    Country(
        "MX", "Mexico", ("México", "Mexico"), 0.04, "es", "MXN",
        "52", 10, ("NN NNNN NNNN", "NNNNNNNNNN", "(NN) NNNN-NNNN"),
        ("+52 NN NNNN NNNN", "+52 1 NN NNNN NNNN", "+52NNNNNNNNNN"), "55 5999 9999", "99999",
        (
            ("Ciudad de México", "America/Mexico_City", "06"), ("Guadalajara", "America/Mexico_City", "44"),
            ("Monterrey", "America/Monterrey", "64"), ("Tijuana", "America/Tijuana", "22"),
            ("Cancún", "America/Cancun", "77"),
        ),
        ("Avenida Reforma", "Calle Hidalgo", "Avenida Juárez", "Calle Morelos", "Insurgentes Sur"),
        "{street} {no}", ("prodigy.net.mx", "hotmail.com.mx"), "com.mx",
    ),
)

# Global personal mailbox providers with rough market shares.
PERSONAL_DOMAINS = (
    ("gmail.com", 0.46),
    ("yahoo.com", 0.11),
    ("hotmail.com", 0.11),
    ("outlook.com", 0.09),
    ("icloud.com", 0.08),
    ("gmx.de", 0.03),
    ("web.de", 0.03),
    ("protonmail.com", 0.02),
    ("aol.com", 0.02),
)
ISP_SHARE = 0.12  # share of personal addresses at the person's national ISP

# Misspellings people really type; the misspelt address does not exist (bounces if mailed).
DOMAIN_TYPOS = {
    "gmail.com": ("gmial.com", "gmai.com", "gmail.co", "gnail.com", "gmail.con"),
    "yahoo.com": ("yahoo.con", "yaho.com", "yahooo.com"),
    "hotmail.com": ("hotmal.com", "hotmial.com", "hotmail.co", "hotmail.con"),
    "outlook.com": ("outlok.com", "outlook.co"),
    "icloud.com": ("iclod.com", "icloud.co"),
}

ROLE_LOCALS = ("info", "sales", "marketing", "office", "contact", "admin")
INVALID_EMAILS = ("n/a", "none", "-", "test@", "noemail", "{first}@", "{first}.{last}@")

COMPANY_PREFIXES = (
    "Acme Globex Initech Umbrella Hooli Vandelay Nordwind Bluepeak Brightline Northstar Redwood "
    "Silverline Greenfield Ironbridge Clearwater Summit Horizon Pioneer Atlas Vertex Quantum "
    "Stellar Evergreen Cobalt Granite Harbor Lumen Meridian Nimbus Orbit Polaris Sable Tidal "
    "Vanguard Willow Zephyr Aurora Beacon Cascade Delta Falcon Helix Keystone Lynx Mosaic Onyx "
    "Prism Quartz Sierra"
).split()
COMPANY_CORES = (
    "Analytics Systems Logistics Foods Health Energy Media Capital Robotics Software Retail "
    "Consulting Design Labs Networks Pharma Textiles Travel Motors Insurance Bank Telecom "
    "Semiconductors Biotech Architects Legal Studios Marine Aerospace Learning Payments Security "
    "Cloud Data Games Chemicals Farms Construction Hotels Fitness"
).split()
COMPANY_FORMS = {
    "US": ("Inc.", "LLC", "Corp."), "GB": ("Ltd", "plc", "Ltd."), "DE": ("GmbH", "AG", "GmbH & Co. KG"),
    "FR": ("SAS", "SA", "SARL"), "ES": ("S.L.", "S.A."), "IT": ("S.p.A.", "S.r.l."),
    "NL": ("B.V.", "N.V."), "GR": ("Α.Ε.", "Ε.Π.Ε."), "BR": ("Ltda.", "S.A."),
    "CA": ("Inc.", "Ltd."), "AU": ("Pty Ltd",), "MX": ("S.A. de C.V.",),
}
# Names that force quoting in CSV: delimiters and quotes inside a field.
AWKWARD_COMPANIES = (
    "Smith, Jones & Partners",
    'The "Blue Door" Company',
    "Müller; Schmidt & Co.",
    "O'Neill, Byrne; Associates",
    "Pérez y Asociados, S.L.",
)
EMAIL_FORMATS = ("first.last", "flast", "first", "first_last", "firstl", "last.first")

JOB_TITLES = (
    "Marketing Manager", "Data Analyst", "Software Engineer", "Head of Sales", "CEO",
    "Product Manager", "Account Executive", "HR Business Partner", "CFO", "Operations Lead",
    "VP, Marketing", 'Head of "Growth"', "Customer Success Manager", "CTO", "Designer",
    "Consultant", "Director of IT", "Office Manager", "Research Scientist", "Procurement Specialist",
    "Teacher", "Nurse", "Student", "Freelancer", "Accountant", "Sales Representative, EMEA",
)

# Store catalogue: (category, product name, base price in EUR)
CATALOG = (
    ("Shoes", "Trail Runner 2", 119.0), ("Shoes", "City Sneaker", 89.0), ("Shoes", "Leather Boot", 179.0),
    ("Outerwear", "Rain Shell", 149.0), ("Outerwear", "Down Jacket", 229.0), ("Outerwear", "Fleece, Half-Zip", 69.0),
    ("Dresses", "Linen Dress", 99.0), ("Dresses", "Wrap Dress", 79.0),
    ("Accessories", "Wool Scarf", 39.0), ("Accessories", "Leather Belt", 45.0), ("Accessories", 'Tote Bag 15"', 29.0),
    ("Electronics", "Wireless Earbuds", 129.0), ("Electronics", "Smart Watch", 249.0), ("Electronics", "USB-C Charger", 25.0),
    ("Home & Kitchen", "Espresso Maker", 199.0), ("Home & Kitchen", "Chef's Knife", 89.0), ("Home & Kitchen", "Linen Towels (set of 4)", 35.0),
    ("Beauty", "Face Serum", 42.0), ("Beauty", "Hair Dryer", 95.0),
    ("Sports", "Yoga Mat", 35.0), ("Sports", "Dumbbell Set", 120.0), ("Sports", "Cycling Helmet", 75.0),
    ("Books", "Cookbook: Slow Food", 28.0), ("Books", "Travel Guide Europe", 22.0),
    ("Toys", "Wooden Train Set", 49.0), ("Toys", "Puzzle 1000 pcs", 19.0),
)
CURRENCY_RATE = {"EUR": 1.0, "USD": 1.08, "GBP": 0.86, "BRL": 5.4, "CAD": 1.47, "AUD": 1.65, "MXN": 18.5}

WEBINAR_TOPICS = (
    "Customer Data 101", "Personalisation at Scale", "GDPR for Marketers", "Email Deliverability Deep-Dive",
    "Attribution, Explained", "Segmentation Workshop", "Product Roadmap Q&A", "Retention Playbook",
    'The "Single Customer View"', "AI for Campaigns", "Data Quality Masterclass", "Loyalty Programs That Work",
)

CAMPAIGN_NAMES = (
    "Weekly Newsletter", "Black Friday Preview", "New Arrivals", "Winter Sale", "Webinar Invitation",
    "Product Update", "Customer Stories", "Back in Stock", "Loyalty Rewards", "Tips & Tricks",
    "Summer Collection", "Flash Sale 24h", "Event Recap", "We Miss You",
)

# Real mail clients (human opens). The Gmail image proxy fetches when the human opens the mail.
HUMAN_USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Mobile Safari/537.36",
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17928; Pro)",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.0.0 Safari/537.36 Edg/128.0.0.0",
    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
    "Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0",
    "Thunderbird/128.3.0",
    "Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
)
# Apple Mail Privacy Protection prefetches through proxies that announce almost nothing.
PRIVACY_PROXY_USER_AGENTS = ("Mozilla/5.0", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)")
# Corporate link scanners click every link within seconds of delivery.
SCANNER_USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 (compatible; Proofpoint URL Defense)",
    "Mimecast URL Protect/1.0",
    "Mozilla/5.0 (compatible; Barracuda Sentinel)",
    "Microsoft Office/16.0 (Microsoft Defender for Office 365 Safe Links)",
)
LINK_PATHS = ("shop", "new-arrivals", "sale", "blog/customer-data", "webinars", "account/preferences")
