import Testing
@testable import KefuCore

@Suite("Features")
struct FeatureTests {
    func names(_ text: String, _ settings: FeatureSettings = FeatureSettings()) -> Set<String> {
        var sink = NamingSink()
        FeatureExtractor(settings: settings).extract(TextNormalizer().normalize(text).scalars, into: &sink)
        return Set(sink.names.values)
    }

    @Test("Chinese runs give character unigrams and bigrams, not across punctuation")
    func chineseNGrams() {
        let features = names("退款，多久")
        #expect(features.isSuperset(of: ["退", "款", "退款", "多", "久", "多久"]))
        #expect(!features.contains("款多"))
    }

    @Test("edge n-grams, when asked for, mark how a Chinese run starts and ends")
    func chineseEdges() {
        var settings = FeatureSettings()
        #expect(!names("打开熊猫看书", settings).contains("<打开"), "off by default")
        settings.ideographEdgeNGrams = 1...2
        let features = names("打开熊猫看书", settings)
        #expect(features.isSuperset(of: ["<打", "<打开", "书>", "看书>"]))
        #expect(!features.contains("<熊猫") && !features.contains("打开>"))
    }

    @Test("English gives words, word bigrams and subwords with boundary marks")
    func latinFeatures() {
        let features = names("refund please")
        #expect(features.isSuperset(of: ["\"refund\"", "\"please\"", "\"refund please\"", "<re", "ref", "nd>"]))
    }

    @Test("mixed text gives Chinese n-grams and Latin words side by side")
    func mixedScripts() {
        let features = names("app登录")
        #expect(features.isSuperset(of: ["\"app\"", "登录", "登", "录"]))
    }

    @Test("training dropout can tell Latin-script features from Chinese n-grams by their hash")
    func latinFeaturesAreMarked() {
        func hashes(_ text: String) -> [UInt64] {
            var sink = HashingSink()
            FeatureExtractor(settings: FeatureSettings()).extract(TextNormalizer().normalize(text).scalars, into: &sink)
            return sink.hashes
        }
        #expect(hashes("退款多久到账").allSatisfy { !isLatinFeature($0) }, "Chinese n-grams are never dropped")
        #expect(hashes("refund please").allSatisfy(isLatinFeature))
        let mixed = hashes("app登录")
        #expect(mixed.contains(where: isLatinFeature) && mixed.contains { !isLatinFeature($0) })
    }

    @Test("training with dropout is reproducible: the same examples give the same probabilities")
    func dropoutIsSeeded() {
        let examples = [("where is my card", "card_arrival"), ("my card has not arrived yet", "card_arrival"),
                        ("how do I get a refund", "refund"), ("I want my money back", "refund"),
                        ("top up failed", "top_up"), ("my top-up did not go through", "top_up")]
            .map { LabelledText(text: $0.0, label: $0.1) }
        var training = TrainingSettings()
        training.featureDropout = 0.5
        training.minimumSteps = 2_000
        let a = IntentClassifier.train(examples, normalizer: TextNormalizer(), training: training)
        let b = IntentClassifier.train(examples, normalizer: TextNormalizer(), training: training)
        #expect(a.rank("card not arrived").probabilities == b.rank("card not arrived").probabilities)
        #expect(a.labels[a.top("card not arrived").classIndex] == "card_arrival")
    }

    @Test("hashes are de-duplicated: a repeated word counts once")
    func duplicatesCollapse() {
        let vectorizer = Vectorizer.fit([TextNormalizer().normalize("卡 卡 卡").scalars], settings: FeatureSettings()).vectorizer
        let hashes = vectorizer.hashes(of: TextNormalizer().normalize("卡 卡 卡").scalars)
        #expect(hashes.count == 1)
    }
}

@Suite("Keywords")
struct KeywordTests {
    @Test("a keyword matches inside unsegmented Chinese, where \\b matching fails")
    func keywordInsideChinese() {
        let n = TextNormalizer()
        let keyword = KeywordMatcher.keyword("退款", weight: 1, normalizer: n)
        #expect(KeywordMatcher.occurs(keyword, in: n.normalize("我要退款谢谢").scalars))
        #expect(!KeywordMatcher.occurs(keyword, in: n.normalize("我要退货").scalars))
    }

    @Test("a traditional keyword matches a simplified message")
    func keywordAcrossScripts() {
        let n = TextNormalizer()
        let keyword = KeywordMatcher.keyword("掛失", weight: 1, normalizer: n)
        #expect(KeywordMatcher.occurs(keyword, in: n.normalize("卡要挂失").scalars))
    }

    @Test("an English keyword needs word boundaries")
    func englishKeywordBoundaries() {
        let n = TextNormalizer()
        let keyword = KeywordMatcher.keyword("card", weight: 1, normalizer: n)
        #expect(KeywordMatcher.occurs(keyword, in: n.normalize("lost my card").scalars))
        #expect(!KeywordMatcher.occurs(keyword, in: n.normalize("a cardigan").scalars))
    }
}
