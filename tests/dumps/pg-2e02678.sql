--
-- PostgreSQL database dump
--

\restrict SbCUIg5FYfbx0jQqhZEieNev6RqtnKLCTYcgjDCT5CNBVSqcXiCTQUvwCKG8vld

-- Dumped from database version 15.20 (Debian 15.20-0+deb12u1)
-- Dumped by pg_dump version 15.20 (Debian 15.20-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: article; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.article (
    id integer NOT NULL,
    key character varying(1100) NOT NULL,
    feed_id integer NOT NULL,
    guid character varying,
    url character varying NOT NULL,
    title character varying NOT NULL,
    text character varying NOT NULL,
    author character varying,
    published_at timestamp with time zone,
    language character varying,
    content_hash character varying NOT NULL,
    update_of integer,
    fetched_at timestamp with time zone NOT NULL,
    matched_at timestamp with time zone,
    story_id integer,
    story_sig bytea,
    story_size integer,
    story_entities character varying,
    matched_prefix integer
);


--
-- Name: article_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.article_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: article_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.article_id_seq OWNED BY public.article.id;


--
-- Name: article_source; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.article_source (
    id integer NOT NULL,
    article_id integer NOT NULL,
    feed_id integer NOT NULL,
    entry_key character varying(1100) NOT NULL,
    content_hash character varying NOT NULL,
    seen_at timestamp with time zone NOT NULL
);


--
-- Name: article_source_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.article_source_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: article_source_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.article_source_id_seq OWNED BY public.article_source.id;


--
-- Name: dead_letter; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.dead_letter (
    id integer NOT NULL,
    kind character varying(40) NOT NULL,
    item_id integer NOT NULL,
    reason character varying NOT NULL,
    attempts integer NOT NULL,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: dead_letter_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.dead_letter_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: dead_letter_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.dead_letter_id_seq OWNED BY public.dead_letter.id;


--
-- Name: delivery; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.delivery (
    id integer NOT NULL,
    match_id integer NOT NULL,
    article_id integer NOT NULL,
    rule character varying NOT NULL,
    channel character varying NOT NULL,
    status character varying NOT NULL,
    attempts integer NOT NULL,
    last_error character varying,
    held_reason character varying,
    digest_id integer,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    sent_at timestamp with time zone
);


--
-- Name: delivery_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.delivery_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: delivery_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.delivery_id_seq OWNED BY public.delivery.id;


--
-- Name: digest; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.digest (
    id integer NOT NULL,
    channel character varying NOT NULL,
    status character varying NOT NULL,
    attempts integer NOT NULL,
    last_error character varying,
    reason character varying NOT NULL,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    sent_at timestamp with time zone
);


--
-- Name: digest_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.digest_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: digest_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.digest_id_seq OWNED BY public.digest.id;


--
-- Name: feed; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.feed (
    id integer NOT NULL,
    url character varying(2048) NOT NULL,
    name character varying NOT NULL,
    language character varying,
    tags json NOT NULL,
    "interval" integer NOT NULL,
    enabled boolean NOT NULL,
    updates boolean NOT NULL,
    fulltext boolean NOT NULL,
    next_poll_at timestamp with time zone NOT NULL,
    last_polled_at timestamp with time zone,
    last_success_at timestamp with time zone,
    last_error character varying,
    last_status integer,
    consecutive_failures integer NOT NULL,
    etag character varying,
    last_modified character varying,
    body_hash character varying,
    item_hashes bytea,
    articles_seen integer NOT NULL,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: feed_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.feed_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: feed_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.feed_id_seq OWNED BY public.feed.id;


--
-- Name: rule_match; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.rule_match (
    id integer NOT NULL,
    article_id integer NOT NULL,
    rule character varying NOT NULL,
    terms json NOT NULL,
    hits json NOT NULL,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: rule_match_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.rule_match_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: rule_match_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.rule_match_id_seq OWNED BY public.rule_match.id;


--
-- Name: story_band; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.story_band (
    key bigint NOT NULL,
    article_id integer NOT NULL,
    story_id integer NOT NULL,
    published timestamp with time zone NOT NULL
);


--
-- Name: watch_state; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.watch_state (
    id integer NOT NULL,
    kind character varying(20) NOT NULL,
    key character varying(2100) NOT NULL,
    state json NOT NULL,
    updated_at timestamp with time zone NOT NULL
);


--
-- Name: watch_state_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.watch_state_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: watch_state_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.watch_state_id_seq OWNED BY public.watch_state.id;


--
-- Name: web_session; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.web_session (
    id_hash character varying(64) NOT NULL,
    csrf character varying(64) NOT NULL,
    token_tag character varying(64) NOT NULL,
    created_at timestamp with time zone NOT NULL,
    expires_at timestamp with time zone NOT NULL
);


--
-- Name: work_attempt; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.work_attempt (
    task_id character varying(200) NOT NULL,
    kind character varying NOT NULL,
    attempts integer NOT NULL,
    updated_at timestamp with time zone NOT NULL
);


--
-- Name: article id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.article ALTER COLUMN id SET DEFAULT nextval('public.article_id_seq'::regclass);


--
-- Name: article_source id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.article_source ALTER COLUMN id SET DEFAULT nextval('public.article_source_id_seq'::regclass);


--
-- Name: dead_letter id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.dead_letter ALTER COLUMN id SET DEFAULT nextval('public.dead_letter_id_seq'::regclass);


--
-- Name: delivery id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.delivery ALTER COLUMN id SET DEFAULT nextval('public.delivery_id_seq'::regclass);


--
-- Name: digest id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.digest ALTER COLUMN id SET DEFAULT nextval('public.digest_id_seq'::regclass);


--
-- Name: feed id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.feed ALTER COLUMN id SET DEFAULT nextval('public.feed_id_seq'::regclass);


--
-- Name: rule_match id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.rule_match ALTER COLUMN id SET DEFAULT nextval('public.rule_match_id_seq'::regclass);


--
-- Name: watch_state id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.watch_state ALTER COLUMN id SET DEFAULT nextval('public.watch_state_id_seq'::regclass);


--
-- Data for Name: article; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.article VALUES (1, 'url:https://news.example.org/1', 1, 'news-1', 'https://news.example.org/1', 'L''OTAN se réunit à Bruxelles', 'Les ministres de l''OTAN se réunissent à Bruxelles ce jeudi.', 'A. Reporter', '2025-03-01 08:01:00+00', 'fr', 'h0001', NULL, '2025-03-01 08:10:00+00', '2025-03-01 08:12:00+00', 1, '\xdf0e310c511e55031acf2f117f7bbb05685b7d053751e4139b92a7048622cb1d258eed02ce04930268706c3496441d12b6483827f4fd6302ab5988071c69080d277f073010d7bd1402ef8527a1f26113c0214b1daa03f606fcb46b34188af517e5fa44276074b606ec2c8b115d9b570915e288051e3d0c1d42706602950bfe08e1f89e21430db70475d15013048df300d40fdc017b8de5059626890bd1f9040fd89b940982995a09d99266207e056d029261320b7da90210075add00c7368b14ab6c2f18dc9b7600083dbb045d47690615df3f14a5ead900ace7b2018f642029bee2810f5b789007c4e2060d75afa411d08434008a40eb3a1a6124131d7043079893300160a2fa029d2b3e315bdf252a8c267c2791083208d3b677298b58901c0058071423a38424f6f7554a8b2ad2027722a50d40c0680ad31e0d1b6dbc5103d5d3b118815b471b5a58053937b1c62e61380b0b368e22215870670f2149830344e4b909c2490c024cf830053c86181a5b5f5e0aa653fb1058e63b1d983da60cd350b417e4cb772a1f9b3b012944311daf4a941da90fb41fde847b055338190160a0fb1465de4b2a735cc6228601b52053c74c0c496c121bb12c021efcdd320fa9970a1309fa7f2a2ad8672f1ec2c908a8e0170626ca353e9012050a84e35608bd517f1e3beaf40179e7d104cfdc6a1ea123fe228b5b020fde9518017635f905', 12, 'nato brussels', NULL);
INSERT INTO public.article VALUES (3, 'url:https://wire.example.org/3', 2, 'wire-3', 'https://wire.example.org/3', 'Élections en Ukraine', 'Kyiv prépare les élections ; l''Ukraine vote.', 'A. Reporter', '2025-03-01 08:03:00+00', 'fr', 'h0003', NULL, '2025-03-01 08:10:00+00', '2025-03-01 08:12:00+00', 3, '\xcb6ea94b7c70ad0485e4fe0159bb514c40c9961a305609261a73cf2673b6d2254f0d1e14a779242e4e33f91233711e315c3edf3d415b260c9727a419d64b730ec572c63694598b0558e60d4f56605205cd9c59028f6fa821960331102ecdcc0b99297e06949e0419e20e9c0371e6ef0b7ad9f705d7ebf212894cf11642abcf11347db4261321f80aaa064e19e3c3cf0856baab0fbcf02130fd74421541236303c5a26325bb08270e95562819749d1f3e6a834a13784bc23f02d83142760087013b6b4c2d3ff724266cc6b30366439d0cb6276209d448354a23386a1e7608c8008776b5005583cd119b362a0156faed0a7671cc07e3dc4a0bf5e58b1a267d8c1f6f0a7e04438e6a15981368115c6468464703e5040849e9053cf282188589050169de104977458004eaef4d298a3aaf04a13a640d73569c11ca9a712e84b2cf10ceb2f01ad850d2248c9e5150f2e8e2065d98e21ab3e49107b149d9048468b72c8bba9064fecf582f94294c134575a80502359b198247d220963076389a8f0212e1113821915dd00bf5ec6711afa08f1afe88a207412fd413e1e4c824d019a603b3fe5e0cf22290180733b43e5abb0e2b76288533496bbf600e7d2620a97ba230c013891b1b38b207aa8c4b14939dfb07d199b51f51b5f218e536dc4353d653006402af00c42a6b098c40d90aa441cb4704def8107f828a28d201801c749b151b', 8, 'ukraine kyiv', NULL);
INSERT INTO public.article VALUES (2, 'url:https://news.example.org/2', 1, 'news-2', 'https://news.example.org/2', 'Grève à la SNCF', 'Une grève touche la SNCF ce matin, « trafic perturbé ».', NULL, '2025-03-01 08:02:00+00', 'fr', 'h0002', NULL, '2025-03-01 08:10:00+00', '2025-03-01 08:12:00+00', 2, '\x60f26301f7bad62a9552ba09beec3a062122fe23bf98ea072147bd2761f43b0cd36f320ce3e3ba340365f30642d17b2862ebb501dc62360c7c08e42d898f46032208d9077f2943172cfe491e2384670e6246cb1c3aed3016e40d440b2532c3089f205f2db4592820c5c4b10e8d1c873daa3ace04874d680d2a238502356c3b238ab30b1b937b491dbb24d2008914d010cc9e04094d68f2091da9570d3a79b21fee96fa0b0a23011c6022f3038bd7892ab0acd50470f5f8067ff02828c2528c176609d60386fa5d0547b4ac0e9bb5440bd5cc2c0a25f1d40e9680f5146689020b518986007c89a11207d21305a1c7350c475d30203a14fb4188a3e61d60e56505bb070e364a12b709d772ec23bb8864005730434f72e1820e746fa9051f1d4f11c936d50fe38f45087b93680ccfde9002bf7e0c3715dcb5291a0a4a0b9abf0c18282e3e091250d6074c738102b466091a581b1400df260816856102026fbbe40d8168de283fb292165d6de30ac8d5eb1e21a86f0d0b34c837e8794308e7790d422556da041c2598527249a1044f26f4103e1188220ffb3606584cac486f45a213a4b9dc14e8b7be32e41f17161ce6e612b844f425e5f90332a63ce311a88c52167831940eec2a4209d0a5d90949cc1336bd34632910713d15cba88127349a0d00fa3cdf4c0445f20a6cd23b05c4977305f2db8222f1969302b2468e40b304e54c', 11, 'sncf', 200000);


--
-- Data for Name: article_source; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.article_source VALUES (1, 1, 1, 'https://news.example.org/1', 'h0001', '2025-03-01 08:10:00+00');
INSERT INTO public.article_source VALUES (2, 2, 1, 'https://news.example.org/2', 'h0002', '2025-03-01 08:10:00+00');
INSERT INTO public.article_source VALUES (3, 1, 2, 'https://news.example.org/1', 'h0001', '2025-03-01 08:10:00+00');
INSERT INTO public.article_source VALUES (4, 3, 2, 'https://wire.example.org/3', 'h0003', '2025-03-01 08:10:00+00');


--
-- Data for Name: dead_letter; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.dead_letter VALUES (1, 'article', 3, 'poison: matcher raised ValueError', 3, '2025-03-01 08:17:00+00');


--
-- Data for Name: delivery; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.delivery VALUES (1, 1, 1, 'otan', 'desk', 'sent', 1, NULL, NULL, NULL, '2025-03-01 08:12:00+00', '2025-03-01 08:13:00+00', '2025-03-01 08:13:00+00');
INSERT INTO public.delivery VALUES (3, 2, 1, 'defense', 'desk', 'dead', 1, 'HTTP 500 from hooks.example.net', NULL, NULL, '2025-03-01 08:12:00+00', '2025-03-01 08:14:00+00', NULL);
INSERT INTO public.delivery VALUES (2, 1, 1, 'otan', 'digest-desk', 'sent', 0, NULL, 'digest', 1, '2025-03-01 08:12:00+00', '2025-03-01 09:00:00+00', '2025-03-01 09:00:00+00');
INSERT INTO public.delivery VALUES (4, 3, 2, 'sncf', 'digest-desk', 'sent', 0, NULL, 'digest', 1, '2025-03-01 08:12:00+00', '2025-03-01 09:00:00+00', '2025-03-01 09:00:00+00');


--
-- Data for Name: digest; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.digest VALUES (1, 'digest-desk', 'sent', 1, NULL, 'digest', '2025-03-01 09:00:00+00', '2025-03-01 09:00:00+00', '2025-03-01 09:00:00+00');


--
-- Data for Name: feed; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.feed VALUES (1, 'https://news.example.org/rss', 'Example News', 'fr', '["press", "fr"]', 900, true, false, false, '2026-12-06 04:40:28.153936+00', '2025-03-01 08:10:00+00', '2025-03-01 08:10:00+00', NULL, 200, 0, '"e1"', 'Sat, 01 Mar 2025', 'bh1', '\x0102030405060708', 2, '2026-12-06 04:40:28.153936+00');
INSERT INTO public.feed VALUES (2, 'https://wire.example.com/atom.xml', 'Wire', NULL, '[]', 300, true, true, false, '2025-03-01 08:25:00+00', '2025-03-01 08:20:00+00', '2025-03-01 08:10:00+00', 'HTTP 503 from wire.example.com', 503, 1, NULL, NULL, 'bh2', NULL, 1, '2026-12-06 04:40:28.153936+00');


--
-- Data for Name: rule_match; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.rule_match VALUES (1, 1, 'otan', '["OTAN"]', '[["title", 2, 6, "OTAN"]]', '2025-03-01 08:12:00+00');
INSERT INTO public.rule_match VALUES (2, 1, 'defense', '["OTAN"]', '[["title", 2, 6, "OTAN"]]', '2025-03-01 08:12:00+00');
INSERT INTO public.rule_match VALUES (3, 2, 'sncf', '["SNCF", "gr\u00e8ve"]', '[["text", 14, 18, "SNCF"]]', '2025-03-01 08:12:00+00');


--
-- Data for Name: story_band; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.story_band VALUES (-8971479845669890048, 1, 1, '2025-03-01 08:01:00+00');
INSERT INTO public.story_band VALUES (-8778981960254152164, 3, 3, '2025-03-01 08:03:00+00');
INSERT INTO public.story_band VALUES (-8444139883543622460, 1, 1, '2025-03-01 08:01:00+00');
INSERT INTO public.story_band VALUES (-8288185341477382677, 2, 2, '2025-03-01 08:02:00+00');
INSERT INTO public.story_band VALUES (-8240674667342274238, 3, 3, '2025-03-01 08:03:00+00');
INSERT INTO public.story_band VALUES (-7987986462583177749, 1, 1, '2025-03-01 08:01:00+00');
INSERT INTO public.story_band VALUES (-7907206410507471459, 3, 3, '2025-03-01 08:03:00+00');
INSERT INTO public.story_band VALUES (-7856464554257246193, 3, 3, '2025-03-01 08:03:00+00');
INSERT INTO public.story_band VALUES (-7826060804417832405, 2, 2, '2025-03-01 08:02:00+00');
INSERT INTO public.story_band VALUES (-7737654183335299755, 3, 3, '2025-03-01 08:03:00+00');
INSERT INTO public.story_band VALUES (-7250025450562277908, 2, 2, '2025-03-01 08:02:00+00');
INSERT INTO public.story_band VALUES (-6864354225023303877, 2, 2, '2025-03-01 08:02:00+00');
INSERT INTO public.story_band VALUES (-6822380295864186674, 2, 2, '2025-03-01 08:02:00+00');
INSERT INTO public.story_band VALUES (-6635740568596423686, 1, 1, '2025-03-01 08:01:00+00');
INSERT INTO public.story_band VALUES (-6419371316440855896, 2, 2, '2025-03-01 08:02:00+00');
INSERT INTO public.story_band VALUES (-6274061169821749205, 2, 2, '2025-03-01 08:02:00+00');
INSERT INTO public.story_band VALUES (-6187186217497765190, 1, 1, '2025-03-01 08:01:00+00');
INSERT INTO public.story_band VALUES (-6166622954311166525, 1, 1, '2025-03-01 08:01:00+00');
INSERT INTO public.story_band VALUES (-6115224970217830282, 3, 3, '2025-03-01 08:03:00+00');
INSERT INTO public.story_band VALUES (-6041487664836187681, 2, 2, '2025-03-01 08:02:00+00');
INSERT INTO public.story_band VALUES (-5903864789144164007, 1, 1, '2025-03-01 08:01:00+00');
INSERT INTO public.story_band VALUES (-5870905111292475721, 1, 1, '2025-03-01 08:01:00+00');
INSERT INTO public.story_band VALUES (-5725378565453499870, 2, 2, '2025-03-01 08:02:00+00');
INSERT INTO public.story_band VALUES (-5720628663660177227, 1, 1, '2025-03-01 08:01:00+00');
INSERT INTO public.story_band VALUES (-5542636162975218181, 1, 1, '2025-03-01 08:01:00+00');
INSERT INTO public.story_band VALUES (-5534489114738771027, 3, 3, '2025-03-01 08:03:00+00');
INSERT INTO public.story_band VALUES (-5458919433302989630, 1, 1, '2025-03-01 08:01:00+00');
INSERT INTO public.story_band VALUES (-5365691524024873434, 3, 3, '2025-03-01 08:03:00+00');
INSERT INTO public.story_band VALUES (-5361948967853012088, 2, 2, '2025-03-01 08:02:00+00');
INSERT INTO public.story_band VALUES (-5135458792021944747, 2, 2, '2025-03-01 08:02:00+00');
INSERT INTO public.story_band VALUES (-5123109471300505874, 3, 3, '2025-03-01 08:03:00+00');
INSERT INTO public.story_band VALUES (-4892433160017434328, 1, 1, '2025-03-01 08:01:00+00');
INSERT INTO public.story_band VALUES (-4844780158184452818, 1, 1, '2025-03-01 08:01:00+00');
INSERT INTO public.story_band VALUES (-4665716283751689360, 3, 3, '2025-03-01 08:03:00+00');
INSERT INTO public.story_band VALUES (-4524989545633083047, 3, 3, '2025-03-01 08:03:00+00');
INSERT INTO public.story_band VALUES (-4464135262332374669, 1, 1, '2025-03-01 08:01:00+00');
INSERT INTO public.story_band VALUES (-4400755801537205627, 2, 2, '2025-03-01 08:02:00+00');
INSERT INTO public.story_band VALUES (-4393857209552172501, 2, 2, '2025-03-01 08:02:00+00');
INSERT INTO public.story_band VALUES (-4348541408409535361, 2, 2, '2025-03-01 08:02:00+00');
INSERT INTO public.story_band VALUES (-4050326854385003946, 3, 3, '2025-03-01 08:03:00+00');
INSERT INTO public.story_band VALUES (-3946027584717843018, 1, 1, '2025-03-01 08:01:00+00');
INSERT INTO public.story_band VALUES (-3816660665209258948, 2, 2, '2025-03-01 08:02:00+00');
INSERT INTO public.story_band VALUES (-3769801066347502411, 1, 1, '2025-03-01 08:01:00+00');
INSERT INTO public.story_band VALUES (-3541197077333177700, 3, 3, '2025-03-01 08:03:00+00');
INSERT INTO public.story_band VALUES (-3360897220085441556, 2, 2, '2025-03-01 08:02:00+00');
INSERT INTO public.story_band VALUES (-3239341138085830401, 2, 2, '2025-03-01 08:02:00+00');
INSERT INTO public.story_band VALUES (-3178133758706553204, 3, 3, '2025-03-01 08:03:00+00');
INSERT INTO public.story_band VALUES (-3160001981401566521, 3, 3, '2025-03-01 08:03:00+00');
INSERT INTO public.story_band VALUES (-3017420926377800773, 3, 3, '2025-03-01 08:03:00+00');
INSERT INTO public.story_band VALUES (-2741437677662407490, 1, 1, '2025-03-01 08:01:00+00');
INSERT INTO public.story_band VALUES (-2174552933892809812, 3, 3, '2025-03-01 08:03:00+00');
INSERT INTO public.story_band VALUES (-2143357935257784944, 3, 3, '2025-03-01 08:03:00+00');
INSERT INTO public.story_band VALUES (-2102918979199576241, 2, 2, '2025-03-01 08:02:00+00');
INSERT INTO public.story_band VALUES (-1751210729375612677, 3, 3, '2025-03-01 08:03:00+00');
INSERT INTO public.story_band VALUES (-1426262765923572920, 3, 3, '2025-03-01 08:03:00+00');
INSERT INTO public.story_band VALUES (-1254778244750742126, 1, 1, '2025-03-01 08:01:00+00');
INSERT INTO public.story_band VALUES (-1131694604643677697, 2, 2, '2025-03-01 08:02:00+00');
INSERT INTO public.story_band VALUES (-1045067983514547736, 1, 1, '2025-03-01 08:01:00+00');
INSERT INTO public.story_band VALUES (-734570961665322621, 1, 1, '2025-03-01 08:01:00+00');
INSERT INTO public.story_band VALUES (-611591828661738207, 2, 2, '2025-03-01 08:02:00+00');
INSERT INTO public.story_band VALUES (-562981145608443550, 2, 2, '2025-03-01 08:02:00+00');
INSERT INTO public.story_band VALUES (-259291689275460453, 2, 2, '2025-03-01 08:02:00+00');
INSERT INTO public.story_band VALUES (-44154957495094037, 2, 2, '2025-03-01 08:02:00+00');
INSERT INTO public.story_band VALUES (224086783197494886, 1, 1, '2025-03-01 08:01:00+00');
INSERT INTO public.story_band VALUES (274381687642198979, 3, 3, '2025-03-01 08:03:00+00');
INSERT INTO public.story_band VALUES (364088250439077890, 2, 2, '2025-03-01 08:02:00+00');
INSERT INTO public.story_band VALUES (372093601793788981, 3, 3, '2025-03-01 08:03:00+00');
INSERT INTO public.story_band VALUES (426313133489768926, 2, 2, '2025-03-01 08:02:00+00');
INSERT INTO public.story_band VALUES (802083400985555905, 1, 1, '2025-03-01 08:01:00+00');
INSERT INTO public.story_band VALUES (1171693601664033339, 1, 1, '2025-03-01 08:01:00+00');
INSERT INTO public.story_band VALUES (1687714648244714806, 2, 2, '2025-03-01 08:02:00+00');
INSERT INTO public.story_band VALUES (1731611986550842865, 1, 1, '2025-03-01 08:01:00+00');
INSERT INTO public.story_band VALUES (1973071093769040503, 2, 2, '2025-03-01 08:02:00+00');
INSERT INTO public.story_band VALUES (2302270222575615808, 3, 3, '2025-03-01 08:03:00+00');
INSERT INTO public.story_band VALUES (2507113259406325611, 2, 2, '2025-03-01 08:02:00+00');
INSERT INTO public.story_band VALUES (2670417386335304072, 2, 2, '2025-03-01 08:02:00+00');
INSERT INTO public.story_band VALUES (2928001033015221503, 3, 3, '2025-03-01 08:03:00+00');
INSERT INTO public.story_band VALUES (2967822490202412793, 2, 2, '2025-03-01 08:02:00+00');
INSERT INTO public.story_band VALUES (3121865419428269565, 2, 2, '2025-03-01 08:02:00+00');
INSERT INTO public.story_band VALUES (3122963313819205162, 3, 3, '2025-03-01 08:03:00+00');
INSERT INTO public.story_band VALUES (3158279936787842263, 3, 3, '2025-03-01 08:03:00+00');
INSERT INTO public.story_band VALUES (3233570952712250150, 3, 3, '2025-03-01 08:03:00+00');
INSERT INTO public.story_band VALUES (3374458115898614620, 3, 3, '2025-03-01 08:03:00+00');
INSERT INTO public.story_band VALUES (3434033683135774309, 2, 2, '2025-03-01 08:02:00+00');
INSERT INTO public.story_band VALUES (3480283075777417041, 1, 1, '2025-03-01 08:01:00+00');
INSERT INTO public.story_band VALUES (3543738596105183884, 3, 3, '2025-03-01 08:03:00+00');
INSERT INTO public.story_band VALUES (3828746219048762632, 1, 1, '2025-03-01 08:01:00+00');
INSERT INTO public.story_band VALUES (3923072500555871213, 2, 2, '2025-03-01 08:02:00+00');
INSERT INTO public.story_band VALUES (3941036182533937655, 1, 1, '2025-03-01 08:01:00+00');
INSERT INTO public.story_band VALUES (3996198923686869720, 1, 1, '2025-03-01 08:01:00+00');
INSERT INTO public.story_band VALUES (4043485955382148799, 1, 1, '2025-03-01 08:01:00+00');
INSERT INTO public.story_band VALUES (4102374907827811381, 2, 2, '2025-03-01 08:02:00+00');
INSERT INTO public.story_band VALUES (4223064675816269500, 1, 1, '2025-03-01 08:01:00+00');
INSERT INTO public.story_band VALUES (4550028882059006660, 1, 1, '2025-03-01 08:01:00+00');
INSERT INTO public.story_band VALUES (4771688173452405588, 3, 3, '2025-03-01 08:03:00+00');
INSERT INTO public.story_band VALUES (4980537381089087325, 3, 3, '2025-03-01 08:03:00+00');
INSERT INTO public.story_band VALUES (5069413809845116404, 2, 2, '2025-03-01 08:02:00+00');
INSERT INTO public.story_band VALUES (5280601918311260365, 1, 1, '2025-03-01 08:01:00+00');
INSERT INTO public.story_band VALUES (5565554414264665685, 3, 3, '2025-03-01 08:03:00+00');
INSERT INTO public.story_band VALUES (5585981287240464594, 3, 3, '2025-03-01 08:03:00+00');
INSERT INTO public.story_band VALUES (5652457010102423845, 2, 2, '2025-03-01 08:02:00+00');
INSERT INTO public.story_band VALUES (5806313593577189317, 3, 3, '2025-03-01 08:03:00+00');
INSERT INTO public.story_band VALUES (6019376407248990841, 1, 1, '2025-03-01 08:01:00+00');
INSERT INTO public.story_band VALUES (6422667979210973989, 3, 3, '2025-03-01 08:03:00+00');
INSERT INTO public.story_band VALUES (6734423988853771849, 2, 2, '2025-03-01 08:02:00+00');
INSERT INTO public.story_band VALUES (6827459548851748767, 3, 3, '2025-03-01 08:03:00+00');
INSERT INTO public.story_band VALUES (6927111888277445965, 1, 1, '2025-03-01 08:01:00+00');
INSERT INTO public.story_band VALUES (6996794579996344454, 1, 1, '2025-03-01 08:01:00+00');
INSERT INTO public.story_band VALUES (7011030152703835023, 1, 1, '2025-03-01 08:01:00+00');
INSERT INTO public.story_band VALUES (7111177888785290508, 1, 1, '2025-03-01 08:01:00+00');
INSERT INTO public.story_band VALUES (7180412459650863623, 3, 3, '2025-03-01 08:03:00+00');
INSERT INTO public.story_band VALUES (7409480705584145189, 3, 3, '2025-03-01 08:03:00+00');
INSERT INTO public.story_band VALUES (7823452204039285782, 1, 1, '2025-03-01 08:01:00+00');
INSERT INTO public.story_band VALUES (7932361016530576956, 1, 1, '2025-03-01 08:01:00+00');
INSERT INTO public.story_band VALUES (7977866963302275643, 3, 3, '2025-03-01 08:03:00+00');
INSERT INTO public.story_band VALUES (7980742804863976077, 2, 2, '2025-03-01 08:02:00+00');
INSERT INTO public.story_band VALUES (7985675211121765038, 1, 1, '2025-03-01 08:01:00+00');
INSERT INTO public.story_band VALUES (8144987142331264355, 3, 3, '2025-03-01 08:03:00+00');
INSERT INTO public.story_band VALUES (8563368974200131846, 1, 1, '2025-03-01 08:01:00+00');
INSERT INTO public.story_band VALUES (8593597796354820248, 3, 3, '2025-03-01 08:03:00+00');
INSERT INTO public.story_band VALUES (8628512876822962012, 2, 2, '2025-03-01 08:02:00+00');
INSERT INTO public.story_band VALUES (8705769159436818562, 3, 3, '2025-03-01 08:03:00+00');
INSERT INTO public.story_band VALUES (8769091943918526166, 1, 1, '2025-03-01 08:01:00+00');
INSERT INTO public.story_band VALUES (8811423695435771342, 2, 2, '2025-03-01 08:02:00+00');
INSERT INTO public.story_band VALUES (9052576843581280574, 2, 2, '2025-03-01 08:02:00+00');
INSERT INTO public.story_band VALUES (9059213530191161407, 2, 2, '2025-03-01 08:02:00+00');


--
-- Data for Name: watch_state; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.watch_state VALUES (1, 'watchdog', 'feed:https://wire.example.com/atom.xml', '{"told": "failing", "n": 1}', '2025-03-01 08:30:00+00');
INSERT INTO public.watch_state VALUES (2, 'spike', 'otan', '{"since": "2025-03-01T08:00:00+00:00"}', '2025-03-01 08:30:00+00');


--
-- Data for Name: web_session; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.web_session VALUES ('9fdb96de91e64be307c48a98764d8e00cf1558ee486a8d0594dcea7a95f682d6', '620cd23236f1a6a47ab5fd1de47ebd15d40c10841b26de27835c496fb5916e27', 'tagtagtagtag', '2025-03-01 08:40:00+00', '2025-03-01 09:40:00+00');


--
-- Data for Name: work_attempt; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.work_attempt VALUES ('celery-task-1', 'match', 2, '2025-03-01 08:16:00+00');


--
-- Name: article_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.article_id_seq', 3, true);


--
-- Name: article_source_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.article_source_id_seq', 4, true);


--
-- Name: dead_letter_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.dead_letter_id_seq', 1, true);


--
-- Name: delivery_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.delivery_id_seq', 4, true);


--
-- Name: digest_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.digest_id_seq', 1, true);


--
-- Name: feed_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.feed_id_seq', 2, true);


--
-- Name: rule_match_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.rule_match_id_seq', 3, true);


--
-- Name: watch_state_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.watch_state_id_seq', 2, true);


--
-- Name: article article_key_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.article
    ADD CONSTRAINT article_key_key UNIQUE (key);


--
-- Name: article article_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.article
    ADD CONSTRAINT article_pkey PRIMARY KEY (id);


--
-- Name: article_source article_source_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.article_source
    ADD CONSTRAINT article_source_pkey PRIMARY KEY (id);


--
-- Name: dead_letter dead_letter_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.dead_letter
    ADD CONSTRAINT dead_letter_pkey PRIMARY KEY (id);


--
-- Name: delivery delivery_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.delivery
    ADD CONSTRAINT delivery_pkey PRIMARY KEY (id);


--
-- Name: digest digest_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.digest
    ADD CONSTRAINT digest_pkey PRIMARY KEY (id);


--
-- Name: feed feed_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.feed
    ADD CONSTRAINT feed_pkey PRIMARY KEY (id);


--
-- Name: feed feed_url_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.feed
    ADD CONSTRAINT feed_url_key UNIQUE (url);


--
-- Name: rule_match rule_match_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.rule_match
    ADD CONSTRAINT rule_match_pkey PRIMARY KEY (id);


--
-- Name: story_band story_band_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.story_band
    ADD CONSTRAINT story_band_pkey PRIMARY KEY (key, article_id);


--
-- Name: dead_letter uq_dead_letter; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.dead_letter
    ADD CONSTRAINT uq_dead_letter UNIQUE (kind, item_id);


--
-- Name: delivery uq_delivery; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.delivery
    ADD CONSTRAINT uq_delivery UNIQUE (rule, article_id, channel);


--
-- Name: rule_match uq_match_article_rule; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.rule_match
    ADD CONSTRAINT uq_match_article_rule UNIQUE (article_id, rule);


--
-- Name: article_source uq_source_feed_entry; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.article_source
    ADD CONSTRAINT uq_source_feed_entry UNIQUE (feed_id, entry_key);


--
-- Name: watch_state uq_watch_state; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.watch_state
    ADD CONSTRAINT uq_watch_state UNIQUE (kind, key);


--
-- Name: watch_state watch_state_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.watch_state
    ADD CONSTRAINT watch_state_pkey PRIMARY KEY (id);


--
-- Name: web_session web_session_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.web_session
    ADD CONSTRAINT web_session_pkey PRIMARY KEY (id_hash);


--
-- Name: work_attempt work_attempt_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.work_attempt
    ADD CONSTRAINT work_attempt_pkey PRIMARY KEY (task_id);


--
-- Name: ix_article_feed_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_article_feed_id ON public.article USING btree (feed_id);


--
-- Name: ix_article_fetched_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_article_fetched_at ON public.article USING btree (fetched_at);


--
-- Name: ix_article_matched_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_article_matched_at ON public.article USING btree (matched_at);


--
-- Name: ix_article_source_article_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_article_source_article_id ON public.article_source USING btree (article_id);


--
-- Name: ix_article_story_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_article_story_id ON public.article USING btree (story_id);


--
-- Name: ix_delivery_article_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_delivery_article_id ON public.delivery USING btree (article_id);


--
-- Name: ix_delivery_digest_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_delivery_digest_id ON public.delivery USING btree (digest_id);


--
-- Name: ix_delivery_match_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_delivery_match_id ON public.delivery USING btree (match_id);


--
-- Name: ix_delivery_status; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_delivery_status ON public.delivery USING btree (status);


--
-- Name: ix_delivery_updated_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_delivery_updated_at ON public.delivery USING btree (updated_at);


--
-- Name: ix_digest_channel; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_digest_channel ON public.digest USING btree (channel);


--
-- Name: ix_digest_status; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_digest_status ON public.digest USING btree (status);


--
-- Name: ix_feed_next_poll_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_feed_next_poll_at ON public.feed USING btree (next_poll_at);


--
-- Name: ix_rule_match_article_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_rule_match_article_id ON public.rule_match USING btree (article_id);


--
-- Name: ix_story_band_published_brin; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_story_band_published_brin ON public.story_band USING brin (published);


--
-- Name: ix_web_session_expires_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_web_session_expires_at ON public.web_session USING btree (expires_at);


--
-- Name: article article_feed_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.article
    ADD CONSTRAINT article_feed_id_fkey FOREIGN KEY (feed_id) REFERENCES public.feed(id);


--
-- Name: article_source article_source_article_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.article_source
    ADD CONSTRAINT article_source_article_id_fkey FOREIGN KEY (article_id) REFERENCES public.article(id);


--
-- Name: article_source article_source_feed_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.article_source
    ADD CONSTRAINT article_source_feed_id_fkey FOREIGN KEY (feed_id) REFERENCES public.feed(id);


--
-- Name: article article_update_of_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.article
    ADD CONSTRAINT article_update_of_fkey FOREIGN KEY (update_of) REFERENCES public.article(id);


--
-- Name: delivery delivery_article_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.delivery
    ADD CONSTRAINT delivery_article_id_fkey FOREIGN KEY (article_id) REFERENCES public.article(id);


--
-- Name: delivery delivery_digest_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.delivery
    ADD CONSTRAINT delivery_digest_id_fkey FOREIGN KEY (digest_id) REFERENCES public.digest(id);


--
-- Name: delivery delivery_match_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.delivery
    ADD CONSTRAINT delivery_match_id_fkey FOREIGN KEY (match_id) REFERENCES public.rule_match(id);


--
-- Name: rule_match rule_match_article_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.rule_match
    ADD CONSTRAINT rule_match_article_id_fkey FOREIGN KEY (article_id) REFERENCES public.article(id);


--
-- PostgreSQL database dump complete
--

\unrestrict SbCUIg5FYfbx0jQqhZEieNev6RqtnKLCTYcgjDCT5CNBVSqcXiCTQUvwCKG8vld

